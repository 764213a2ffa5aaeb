"""Human decisions and their record: dataset approvals, the hash-chained audit log."""
