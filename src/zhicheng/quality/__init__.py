"""数据质量: timeliness against each resource's declared update cycle (overdue data flagged to its provider),
completeness of hosted data, corrections (数据纠错) that consumers report and providers answer on a
working-day clock, and catalog maintenance tasks the data authority opens after a legal or functional
change (15 working days)."""
