"""Offline usage-policy classification: rules, hashed n-grams and multilingual embeddings (numpy only)."""

from sekisho.policy.local.classifier import LocalPolicyClassifier, load_local_classifier

__all__ = ["LocalPolicyClassifier", "load_local_classifier"]
