"""The diagnosis engine: scope, hypotheses, evidence, ranking. Talks to domain and ports only."""
