# One image for every Wedge process: web, the two kinds of worker, beat, migrate.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 WEDGE_VAR_DIR=/var/lib/wedge
WORKDIR /app

COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-cache-dir -r requirements/runtime.lock

COPY . .
# Static files are collected into the image (whitenoise serves them); the
# settings need some secret to load, never used at run time.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --no-input -v 0 \
 && useradd --system --home-dir /var/lib/wedge --create-home wedge
USER wedge

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4"]
