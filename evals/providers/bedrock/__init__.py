"""Amazon Bedrock: the Converse client, its worker processes and batch inference jobs."""
