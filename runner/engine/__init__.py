"""The engine: a recipe's steps for one work item, through a driver, one audit event per step; proofs
that a record is right (read-back, key reads) and when an attempt must not be repeated."""
