"""The shared metrics layer: the same functions score a response in the reward Lambda and in evaluation.

Light imports only: the standard library here, boto3 only in modules that call Bedrock. Nothing in this
package may import numpy, datasets, mlflow, hydra or scikit-learn (tests/test_light_imports.py checks it).
"""
