"""The system of record: PostgreSQL keeps every conversation for as long as retention says.

Only this package speaks to PostgreSQL (asyncpg). Redis holds the live work;
the archiver (`switchboard.archiver`) copies it here continuously.
"""
