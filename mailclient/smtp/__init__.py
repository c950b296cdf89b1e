"""The SMTP module: message submission and the outbox sender."""
