"""The working-day calendar (Asia/Shanghai), deadlines counted on it, and clocks that pause."""
