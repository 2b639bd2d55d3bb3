# Self-hosting the playground.
#   CPU (default):  docker build -t playground . && docker run -p 7860:7860 playground
#   NVIDIA GPU:     docker build --build-arg DEVICE=cuda -t playground-gpu . \
#                   && docker run --gpus all -p 7860:7860 playground-gpu
# Models are cached in /data/hf (mount a volume there to keep them between runs).
FROM python:3.11-slim

ARG DEVICE=cpu
# CPU images take PyTorch's CPU-only wheels (about 1 GB smaller); CUDA images the regular ones.
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False HF_HOME=/data/hf \
    GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860

RUN useradd --create-home --uid 1000 app && mkdir -p /data/hf && chown app /data/hf
WORKDIR /app
COPY requirements.txt .
RUN if [ "$DEVICE" = "cpu" ]; then \
        pip install --no-cache-dir --index-url "$TORCH_CPU_INDEX" torch torchvision; \
    fi \
    && pip install --no-cache-dir -r requirements.txt
COPY --chown=app . .

USER app
EXPOSE 7860
VOLUME ["/data/hf"]
CMD ["python", "app.py"]
