"""LegalBench UNFAIR-ToS: classify one Terms-of-Service sentence into one of 8 unfair-clause types or Other.
A quick, cheap regression canary next to contract_review (same CLAUDETTE source, sentence level).
`classes`, `data` and `prompt` are standard library only; `task` pulls in `datasets` when loading."""
