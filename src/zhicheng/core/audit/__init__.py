"""全程留痕: the SM3 hash chain every write of every module appends to."""
