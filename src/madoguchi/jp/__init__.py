"""Pure Japanese-administration logic: no Django imports here, so it is fast to test and reuse."""
