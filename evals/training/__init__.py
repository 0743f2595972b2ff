"""Training a real base -> SFT -> RFT triple here (`rft-evals train`, the `train` extra) and serving it through
llama.cpp; the checkpoint sweep (`rft-evals sweep`). Heavy imports (torch, transformers, trl, peft) happen
inside the stage functions only: importing this package needs none of them."""
