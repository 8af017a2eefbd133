"""Rewards: rules, progress, eligibility, reward rounds, certificates and payouts."""
