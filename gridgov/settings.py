"""Settings, read from the environment in one place.

Environment variables:
  DATABASE_URL        default sqlite:///<var>/gridgov.sqlite3 (WAL mode)
  REDIS_URL           when set, huey and the cache use Redis
  GRIDGOV_SECRET_KEY  Django secret key (generated into var/ when absent)
  GRIDGOV_DATA_KEY    key for personal data encryption (generated into var/ when absent)
  GRIDGOV_DEBUG       "1" for debug pages
  GRIDGOV_VAR_DIR     where the SQLite files, keys and uploads live (default ./var)
  GRIDGOV_ALLOWED_HOSTS  comma-separated
  GRIDGOV_TILE_URL    base map tile URL template for Leaflet (empty: no base map)
  GRIDGOV_TILE_CRS    datum of those tiles: wgs84 (default), gcj02 (AMap, Tencent) or bd09 (Baidu)
  GRIDGOV_HTTPS       "1" behind TLS: secure cookies, HSTS (GRIDGOV_HSTS_SECONDS, default a year),
                      HTTP redirected to HTTPS
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("GRIDGOV_VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
NODE_MODULES = Path(os.environ.get("GRIDGOV_NODE_MODULES", PROJECT_DIR / "node_modules"))


def _persistent_secret(env_name: str, filename: str) -> str:
    """Return the secret from the environment, or one generated once and kept in var/.

    Production sets the variable; a fresh demo machine gets a stable random value
    instead of a well-known default committed to the repository.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _persistent_secret("GRIDGOV_SECRET_KEY", "secret_key")
DATA_KEY = _persistent_secret("GRIDGOV_DATA_KEY", "data_key")
DEBUG = os.environ.get("GRIDGOV_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("GRIDGOV_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "simpleui",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "gridgov.core",
    "gridgov.privacy",
    "gridgov.accounts",
    "gridgov.grids",
    "gridgov.worktime",
    "gridgov.cases",
    "gridgov.population",
    "gridgov.patrols",
    "gridgov.engagement",
    "gridgov.consoles",
    "gridgov.analytics",
    "gridgov.volunteers",
    "gridgov.open311",
    "gridgov.webhooks",
    "gridgov.participation",
    "gridgov.mediation",
    "gridgov.services",
    "gridgov.migrants",
    "gridgov.insights",
    "gridgov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridgov.core.middleware.SecurityHeaders",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "gridgov.core.middleware.RefuseNulCharacters",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridgov.accounts.passwords.PasswordExpiry",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridgov.core.context_processors.admin_warnings",
                "gridgov.consoles.context_processors.workbenches",
            ],
        },
    },
]

# A PostgreSQL connection is kept ten minutes (checked before reuse): a new server process
# loads its catalog caches on its first queries, which cost a page 60–130 ms more.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'gridgov.sqlite3'}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer commits; IMMEDIATE takes the write
        # lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays for itself on long analytical scans, not on the KPI pages' short
    # aggregates, where compiling cost more than running (docs/performance.md, analytics).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "gridgov", "url": REDIS_URL}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "gridgov",
            "filename": str(VAR_DIR / "huey.sqlite3")}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = ["gridgov.accounts.lockout.LockoutBackend"]
# Text messages (residents' login codes): the console backend logs them; plug in a gateway.
GRIDGOV_SMS_BACKEND = os.environ.get("GRIDGOV_SMS_BACKEND", "gridgov.accounts.sms.ConsoleBackend")
# Alibaba Cloud SMS (GRIDGOV_SMS_BACKEND=gridgov.accounts.sms.AliyunBackend): an AccessKey pair
# allowed dysms:SendSms, an approved signature and a template with one variable ${content}.
GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("GRIDGOV_SMS_ALIYUN_ACCESS_KEY_ID", "")
GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("GRIDGOV_SMS_ALIYUN_ACCESS_KEY_SECRET", "")
GRIDGOV_SMS_ALIYUN_SIGN_NAME = os.environ.get("GRIDGOV_SMS_ALIYUN_SIGN_NAME", "")
GRIDGOV_SMS_ALIYUN_TEMPLATE_CODE = os.environ.get("GRIDGOV_SMS_ALIYUN_TEMPLATE_CODE", "")
GRIDGOV_SMS_ALIYUN_ENDPOINT = os.environ.get("GRIDGOV_SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
GRIDGOV_LOGIN_MAX_FAILURES = int(os.environ.get("GRIDGOV_LOGIN_MAX_FAILURES", "5"))
GRIDGOV_LOGIN_LOCK_MINUTES = int(os.environ.get("GRIDGOV_LOGIN_LOCK_MINUTES", "15"))
# Audit entries older than this may be purged (`gridgov audit purge`); never fewer than 183.
GRIDGOV_AUDIT_RETENTION_DAYS = int(os.environ.get("GRIDGOV_AUDIT_RETENTION_DAYS", "365"))

# 等保 2.0 level 3: passwords of several kinds of character, not reused, changed regularly.
GRIDGOV_PASSWORD_MIN_LENGTH = int(os.environ.get("GRIDGOV_PASSWORD_MIN_LENGTH", "8"))
GRIDGOV_PASSWORD_MIN_CLASSES = int(os.environ.get("GRIDGOV_PASSWORD_MIN_CLASSES", "3"))
GRIDGOV_PASSWORD_HISTORY = int(os.environ.get("GRIDGOV_PASSWORD_HISTORY", "5"))
GRIDGOV_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("GRIDGOV_PASSWORD_MAX_AGE_DAYS", "90"))  # 0: never
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": GRIDGOV_PASSWORD_MIN_LENGTH}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "gridgov.accounts.passwords.CharacterClassesValidator",
     "OPTIONS": {"min_classes": GRIDGOV_PASSWORD_MIN_CLASSES}},
    {"NAME": "gridgov.accounts.passwords.HistoryValidator",
     "OPTIONS": {"remember": GRIDGOV_PASSWORD_HISTORY}},
]
SESSION_COOKIE_AGE = 30 * 60  # 等保 2.0 practice: idle sessions end after 30 minutes
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "SAMEORIGIN"
# gridgov.core.middleware.SecurityHeaders sends X-Frame-Options (django-simpleui removes
# Django's middleware for it at start-up, which is what this check looks for).
SILENCED_SYSTEM_CHECKS = ["security.W002"]

# Behind TLS (GRIDGOV_HTTPS=1, the production layout in docs/deployment.md): cookies only over
# HTTPS, HSTS, and plain HTTP redirected. The proxy in front says the scheme in X-Forwarded-Proto.
HTTPS = os.environ.get("GRIDGOV_HTTPS", "") == "1"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("GRIDGOV_HSTS_SECONDS", 365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # A government service is HTTPS-only for good; GRIDGOV_HSTS_PRELOAD=0 for a trial domain.
    SECURE_HSTS_PRELOAD = os.environ.get("GRIDGOV_HSTS_PRELOAD", "1") == "1"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Third-party front-end code is installed by npm into node_modules and served from there.
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/alpinejs", NODE_MODULES / "alpinejs" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
# Photos as received wait here, with their GPS data, for the job that strips it (core/uploads.py
# `hold`); never served, kept in backups, on the volume the app servers and huey consumers share.
GRIDGOV_HELD_DIR = Path(os.environ.get("GRIDGOV_HELD_DIR", VAR_DIR / "held"))
# Uploaded photos are served by Django when no web server sits in front (the demo);
# production serves MEDIA_ROOT from nginx or object storage instead.
GRIDGOV_SERVE_MEDIA = os.environ.get("GRIDGOV_SERVE_MEDIA", "1") == "1"

# django-simpleui: everything served locally (the machine may have no internet) and
# no usage reporting to the theme's author.
SIMPLEUI_STATIC_OFFLINE = True
SIMPLEUI_ANALYSIS = False
SIMPLEUI_HOME_INFO = False
SIMPLEUI_LOGO = ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "gridgov.privacy.logging.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("GRIDGOV_LOG_LEVEL", "INFO")},
}

# --- gridgov ---------------------------------------------------------------------------
# The grid levels of this installation: (code segment length, Chinese name, English name).
# Level 1's code is the 6-digit GB/T 2260 district code plus its 3-digit street segment.
GRIDGOV_GRID_LEVELS = [
    {"digits": 9, "name": "street"},
    {"digits": 3, "name": "community"},
    {"digits": 3, "name": "grid"},
    {"digits": 3, "name": "micro_grid"},
]
# Containment and overlap tolerances, in square metres.
GRIDGOV_GEOMETRY_TOLERANCE_M2 = float(os.environ.get("GRIDGOV_GEOMETRY_TOLERANCE_M2", "50"))
# How often a process checks whether another process changed the grids (seconds).
GRIDGOV_LOCATOR_CHECK_SECONDS = float(os.environ.get("GRIDGOV_LOCATOR_CHECK_SECONDS", "2"))
GRIDGOV_TILE_URL = os.environ.get("GRIDGOV_TILE_URL", "")
GRIDGOV_TILE_ATTRIBUTION = os.environ.get("GRIDGOV_TILE_ATTRIBUTION", "")
# The datum of those tiles: a point picked on an AMap/Tencent base map is GCJ-02, on Baidu BD-09.
GRIDGOV_TILE_CRS = os.environ.get("GRIDGOV_TILE_CRS", "wgs84")
# Possible duplicates: open cases of a related category this near and this recent.
GRIDGOV_DUPLICATE_RADIUS_M = float(os.environ.get("GRIDGOV_DUPLICATE_RADIUS_M", "50"))
GRIDGOV_DUPLICATE_HOURS = float(os.environ.get("GRIDGOV_DUPLICATE_HOURS", "72"))
# Lights: yellow once this share of a stage's time limit has passed; cases overdue by this
# share of their limit again are escalated to the next command centre.
GRIDGOV_YELLOW_SHARE = float(os.environ.get("GRIDGOV_YELLOW_SHARE", "0.8"))
GRIDGOV_ESCALATE_OVERDUE_SHARE = float(os.environ.get("GRIDGOV_ESCALATE_OVERDUE_SHARE", "0.5"))
# A problem reported again at the same place this many days after its case closed is linked
# to that case as a recurrence (回潮).
GRIDGOV_RECURRENCE_DAYS = float(os.environ.get("GRIDGOV_RECURRENCE_DAYS", "30"))
# An unsatisfied rating or call-back may send a closed case back for rework (重办) this long.
GRIDGOV_REOPEN_WINDOW_DAYS = float(os.environ.get("GRIDGOV_REOPEN_WINDOW_DAYS", "15"))
# Working days within which staff must reply to a message-board post (民意直通车).
GRIDGOV_BOARD_REPLY_DAYS = int(os.environ.get("GRIDGOV_BOARD_REPLY_DAYS", "3"))

# The mediation centre (mediation/conf.py reads these): the time limit of a mediation in
# working days, the return visit after an agreement in days, the number of people from which
# a dispute is high-risk (群体性), and the category classes whose cases may go to mediation.
GRIDGOV_MEDIATION_DAYS = int(os.environ.get("GRIDGOV_MEDIATION_DAYS", "30"))
GRIDGOV_MEDIATION_RETURN_VISIT_DAYS = int(os.environ.get("GRIDGOV_MEDIATION_RETURN_VISIT_DAYS", "30"))
GRIDGOV_MEDIATION_HIGH_RISK_PEOPLE = int(os.environ.get("GRIDGOV_MEDIATION_HIGH_RISK_PEOPLE", "10"))
GRIDGOV_MEDIATION_CASE_CLASSES = tuple(os.environ.get("GRIDGOV_MEDIATION_CASE_CLASSES", "11").split(","))
# Migrants (migrants/conf.py reads these): the stay after which a migrant applies for a residence
# permit (months), how many days ahead grid workers are reminded of a permit due or running out,
# how long a permit is valid when the issuer gave no end, and the floor area per tenant below
# which a rental is overcrowded (群租).
GRIDGOV_PERMIT_STAY_MONTHS = int(os.environ.get("GRIDGOV_PERMIT_STAY_MONTHS", "6"))
GRIDGOV_PERMIT_REMIND_DAYS = int(os.environ.get("GRIDGOV_PERMIT_REMIND_DAYS", "30"))
GRIDGOV_PERMIT_VALID_MONTHS = int(os.environ.get("GRIDGOV_PERMIT_VALID_MONTHS", "12"))
GRIDGOV_RENTAL_MIN_M2_PER_PERSON = float(os.environ.get("GRIDGOV_RENTAL_MIN_M2_PER_PERSON", "5"))
# 研判 (insights/conf.py reads these): the rolling window of hotspots and repeat callers (days);
# DBSCAN's radius (m) and minimum of cases; a recurrence: the same category within the radius (m)
# this many days after one was closed; a repeat caller's minimum of cases in the window; a week
# this many standard deviations above its baseline (and at least so many cases); the days past a
# cared-for household's visit interval and past a rental's inspection date before a warning; how near
# an open hazard case (of the classes GRIDGOV_INSIGHTS_HAZARD_CLASSES) is too near people in care;
# the days in which a household's disputes are counted.
GRIDGOV_INSIGHTS_WINDOW_DAYS = float(os.environ.get("GRIDGOV_INSIGHTS_WINDOW_DAYS", "30"))
GRIDGOV_INSIGHTS_HOTSPOT_RADIUS_M = float(os.environ.get("GRIDGOV_INSIGHTS_HOTSPOT_RADIUS_M", "150"))
GRIDGOV_INSIGHTS_HOTSPOT_MIN_CASES = float(os.environ.get("GRIDGOV_INSIGHTS_HOTSPOT_MIN_CASES", "5"))
GRIDGOV_INSIGHTS_RECURRENCE_DAYS = float(os.environ.get("GRIDGOV_INSIGHTS_RECURRENCE_DAYS", "30"))
GRIDGOV_INSIGHTS_RECURRENCE_RADIUS_M = float(os.environ.get("GRIDGOV_INSIGHTS_RECURRENCE_RADIUS_M", "100"))
GRIDGOV_INSIGHTS_CALLER_MIN_CASES = float(os.environ.get("GRIDGOV_INSIGHTS_CALLER_MIN_CASES", "4"))
GRIDGOV_INSIGHTS_TREND_Z = float(os.environ.get("GRIDGOV_INSIGHTS_TREND_Z", "3"))
GRIDGOV_INSIGHTS_TREND_MIN_CASES = float(os.environ.get("GRIDGOV_INSIGHTS_TREND_MIN_CASES", "5"))
GRIDGOV_INSIGHTS_CARE_MARGIN_DAYS = float(os.environ.get("GRIDGOV_INSIGHTS_CARE_MARGIN_DAYS", "7"))
GRIDGOV_INSIGHTS_RENTAL_MARGIN_DAYS = float(os.environ.get("GRIDGOV_INSIGHTS_RENTAL_MARGIN_DAYS", "14"))
GRIDGOV_INSIGHTS_HAZARD_RADIUS_M = float(os.environ.get("GRIDGOV_INSIGHTS_HAZARD_RADIUS_M", "100"))
GRIDGOV_INSIGHTS_DISPUTE_DAYS = float(os.environ.get("GRIDGOV_INSIGHTS_DISPUTE_DAYS", "365"))
GRIDGOV_INSIGHTS_HAZARD_CLASSES = os.environ.get("GRIDGOV_INSIGHTS_HAZARD_CLASSES", "13,01")
# Services near people (services/conf.py reads these): walking time = straight-line distance ×
# the detour factor ÷ the walking speed; how far a nearest search looks; the target from call to
# delivery per kind of service in minutes ("meal=15,*=30": "*" for every other kind).
GRIDGOV_SERVICES_DETOUR = float(os.environ.get("GRIDGOV_SERVICES_DETOUR", "1.3"))
GRIDGOV_SERVICES_WALK_KMH = float(os.environ.get("GRIDGOV_SERVICES_WALK_KMH", "4.5"))
GRIDGOV_SERVICES_SEARCH_KM = float(os.environ.get("GRIDGOV_SERVICES_SEARCH_KM", "10"))
GRIDGOV_SERVICES_TARGET_MINUTES = {
    kind.strip(): int(minutes)
    for kind, minutes in (
        pair.split("=")
        for pair in os.environ.get("GRIDGOV_SERVICES_TARGET_MINUTES", "meal=15,*=30").split(",")
    )
}
# How often a process checks whether another process changed the working calendar (seconds).
GRIDGOV_CALENDAR_CHECK_SECONDS = float(os.environ.get("GRIDGOV_CALENDAR_CHECK_SECONDS", "2"))
