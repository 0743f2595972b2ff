"""Statistics over sample records: estimates with bootstrap intervals, paired comparisons, permutation tests,
confusion matrices, agreement.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "agreement_section": "agreement",
    "policy_agreement": "agreement",
    "Estimate": "estimate",
    "estimate_all": "estimate",
    "align": "paired",
    "compare_candidates": "paired",
    "paired_metric": "paired",
    "win_rate": "paired",
    "unpaired_permutation": "permutation",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
