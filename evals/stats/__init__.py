"""Statistics over sample records: estimates with bootstrap intervals, paired comparisons, permutation tests,
confusion matrices, agreement."""
