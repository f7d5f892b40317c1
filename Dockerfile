FROM python:3.11

WORKDIR /app

RUN pip install --no-cache-dir "poetry==2.5.1"

# Install dependencies (main group only)
COPY poetry.lock pyproject.toml /app/
RUN poetry config virtualenvs.create false && poetry install --only main --no-root

# .dockerignore lets in only the module: main.py, the manifests and xsoar_module/
COPY . .

# The runtime user cannot write /app: compile the module's bytecode now, not at every block start
RUN python -m compileall -q /app

RUN useradd -ms /bin/bash sekoiaio-runtime
USER sekoiaio-runtime

ENTRYPOINT [ "python", "./main.py" ]
