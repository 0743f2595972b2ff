"""Commercial-contract risk review on CUAD v1: read a window of a contract, comment on the clauses in the
playbook's risk categories. Same comment schema and metrics as contract_review, with this task's categories
and playbook. schema/playbook/prompt/segment/gold/windows are standard library only; task.py pulls in
`datasets` when loading."""
