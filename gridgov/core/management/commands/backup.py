from django.core.management.base import BaseCommand, CommandError

from gridgov.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = ("Back up the database, the uploaded files (MEDIA_ROOT) and the keys into one tar archive "
            "(mode 0600). The archive holds the data key that decrypts ID numbers and phones, and the "
            "secret key: keep it, and every copy of it, as carefully as the keys themselves.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive to write (.tar), or a directory for a "
                                         "timestamped file in it; an existing file is never overwritten")

    def handle(self, *args, path, **options):
        try:
            result = create_backup(path)
        except (BackupError, OSError) as exc:  # OSError: a disk full, a file gone meanwhile
            raise CommandError(str(exc)) from exc
        if options["verbosity"]:
            self.stdout.write(
                f"Wrote {result.path} ({result.size:,} bytes) in {result.seconds:.2f} s: "
                f"{result.tables} tables, {result.rows:,} rows, {result.files} media files, and the keys. "
                "Keep it like the keys: whoever holds it can read the personal data.")
