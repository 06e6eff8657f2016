"""Usage analytics at scale: roll-ups, adoption, retention (issue 7)."""
