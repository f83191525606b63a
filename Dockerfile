# digitize: one image for the API (`digitize serve`) and the queue workers (`digitize worker`).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_THREAD_LIMIT=1

# OCR (Vietnamese), PDF rendering, and the fonts separator sheets are printed with
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-vie poppler-utils fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY digitize ./digitize
COPY storage ./storage
COPY workers ./workers
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 digitize
USER digitize
WORKDIR /home/digitize
# the watch service's state volume is mounted here: made by the user so a new volume belongs to it
RUN mkdir -p /home/digitize/archive

EXPOSE 8080
CMD ["digitize", "--help"]
