"""dbreview: review the database side of a pull request (Prisma schema, migrations, Prisma Client code)."""

__version__ = "0.1.0"
