"""The pure core: parsing, verification, policy evaluation and tokens.

Nothing in this package imports Django or touches a database. Functions take plain data
(dataclasses), and time, keys and durations are passed in, so the core is fast and is
tested without a database.
"""
