"""The lesson's agent: a FastAPI app with a health check, for the kind tests."""
import os
import socket

from fastapi import FastAPI

app = FastAPI(title="fastapi-agent")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/")
def index():
    return {
        "app": "fastapi-agent",
        "version": os.environ.get("AGENT_VERSION", "sha-abc1234"),
        "host": socket.gethostname(),
    }


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
