# shopbot's image: the install step is exactly the README's ("Running in production"),
# checked by tests/deploy/test_deploy_files.py; compose.yaml runs it as the replicas.
FROM python:3.11-slim-bookworm
WORKDIR /opt/shopbot
COPY . .
RUN python3 -m venv .venv && .venv/bin/pip install -e .
ENV WEB_HOST=0.0.0.0 WEB_PORT=8081 MEDIA_DIR=/var/lib/shopbot/media
EXPOSE 8081
CMD [".venv/bin/shopbot", "run"]
