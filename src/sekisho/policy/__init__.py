"""Usage policy as code: policy documents, classifiers that apply them, and the verdicts they give."""
