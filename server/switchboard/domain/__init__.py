"""The pure domain: states, rules, schemas and errors. No I/O imports here."""
