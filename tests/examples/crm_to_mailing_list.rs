//! The `examples/crm-to-mailing-list` hub end to end.
