"""One process of test_concurrent_submissions: residents submitting, or a member of staff
changing statuses, in a loop until a deadline, on the test database named by DATABASE_URL.

    python -m tests.applications.concurrency_worker submit|staff-forward|staff-back \
        <procedure id> <staff user id> <seconds> <result file>

Writes one JSON object to the result file: {"done": n, "conflicts": n, "errors": [...]}
(each error "<exception type>: <text>"). Not to stdout: the console mail backend prints the
notices from a background delivery thread, which can run into the same line.
A conflict is a refusal the rules make on purpose (another member of staff changed the
application first); an error is anything else — a deadlock, a lost update, a crash.
"""

import json
import random
import sys
import time
from pathlib import Path

ANSWERS = {
    "applicant_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "ヤマダ",
        "given_kana": "ハナコ",
    },
    "email": "hanako@example.jp",
}

# staff-forward returns applications to the applicant and takes new ones up; staff-back
# resolves returned ones and decides: between them every pair of statuses is written in
# both orders at once.
MOVES = {
    "staff-forward": [("received", "in_progress", ""), ("in_progress", "returned", "書類の不足")],
    "staff-back": [("returned", "in_progress", ""), ("in_progress", "completed", "")],
}


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from madoguchi.applications import services, staff_actions
    from madoguchi.applications.models import Application
    from madoguchi.catalog.models import Procedure

    role, procedure_id, user_id, seconds, result_file = sys.argv[1:6]
    procedure = Procedure.objects.get(pk=int(procedure_id))
    user = get_user_model().objects.get(pk=int(user_id))
    deadline = time.monotonic() + float(seconds)
    rng = random.Random()
    done = conflicts = 0
    errors: list[str] = []

    def submit_one():
        application, _token = services.start_draft(procedure)
        services.save_step(
            application, "applicant", raw={}, answers=ANSWERS, completed=True, step_index=0
        )
        services.submit(application, base_url="http://testserver")

    def move_one():
        from_status, to_status, message = rng.choice(MOVES[role])
        candidates = list(
            Application.objects.filter(procedure=procedure, status=from_status).values_list(
                "pk", "lock_version"
            )[:20]
        )
        if not candidates:
            time.sleep(0.01)
            return False
        pk, version = rng.choice(candidates)
        staff_actions.change_status(
            Application.objects.get(pk=pk),
            to_status,
            user=user,
            message=message,
            expected_version=version,
        )
        return True

    while time.monotonic() < deadline:
        try:
            if role == "submit":
                submit_one()
            elif not move_one():
                continue
            done += 1
        except staff_actions.ERRORS:
            conflicts += 1  # someone else moved it first: refused on purpose
        except Exception as exc:  # noqa: BLE001 - every other failure is reported
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    Path(result_file).write_text(
        json.dumps({"done": done, "conflicts": conflicts, "errors": errors}), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
