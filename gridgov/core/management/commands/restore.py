from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridgov.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = ("Restore a `gridgov backup` archive: check every member's sha256, then restore the database, "
            "the uploaded files into MEDIA_ROOT and the keys into the var directory. Refuses a damaged "
            "archive, a database of another vendor, and a database that already holds data (unless --force).")

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive written by `gridgov backup`")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that already holds data")
        parser.add_argument("--database-url", metavar="URL",
                            help="restore into this database instead of the configured one "
                                 "(e.g. a scratch database for a restore drill)")
        parser.add_argument("--media-root", metavar="DIR", type=Path,
                            help="restore the uploaded files here instead of MEDIA_ROOT")
        parser.add_argument("--var-dir", metavar="DIR", type=Path,
                            help="write the key files here instead of GRIDGOV_VAR_DIR")

    def handle(self, *args, path, force, database_url, media_root, var_dir, **options):
        try:
            result = restore_backup(path, force=force, database_url=database_url,
                                    media_root=media_root, var_dir=var_dir)
        except (BackupError, OSError) as exc:  # OSError: a disk full, a file gone meanwhile
            raise CommandError(str(exc)) from exc
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
        if options["verbosity"]:
            keys = ", ".join(result.keys_written) or "none (set in the environment)"
            self.stdout.write(
                f"Restored {result.tables} tables ({result.rows:,} rows) into the {result.vendor} database "
                f"{result.database!r} and {result.files} media files into {result.media_root} "
                f"in {result.seconds:.2f} s; key files written: {keys}.")
