"""Development and demo tools, kept out of the runtime package `madoguchi`.

- `demo`, `sample_applications`: the sample municipality (みほん市), its demo staff accounts and
  six months of sample applications (`madoguchi seed_demo`, `madoguchi demo_totp_code`);
- `testca`: a test certification authority for マイナンバーカード signatures
  (`madoguchi jpki_testca`), used by the tests, the simulator and the benchmarks;
- `mynaportal_simulator`: the local stand-in for the 電子申請等情報受取等API
  (`madoguchi mynaportal-simulator`), run as its own process.

Nothing in `madoguchi` imports this package (an import-linter contract holds it). A production
deployment leaves it out with MADOGUCHI_DEV_TOOLS=0; the sample applications need the `demo`
extra (time-machine).
"""
