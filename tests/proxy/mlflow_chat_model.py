"""A tiny MLflow chat model for the integration tests: it echoes the last user message.

MLflow "models from code": this file is both the model (``set_model`` below,
executed by MLflow when it loads or validates the model) and, run as a
script, the tool that saves it::

    python mlflow_chat_model.py <model dir>

``mlflow.pyfunc.ChatModel`` is deprecated since MLflow 3.0 in favour of
``ResponsesAgent``, but the docs still recommend it for "strict compatibility
with the OpenAI ChatCompletion API" — exactly what ``mlflow models serve``
must speak here: ``POST /invocations`` with an OpenAI chat body answers a
``chat.completion`` object. No weights, no network.

When the environment variable ``LG_ECHO_SEEN`` names a file, every call
appends one JSON line with the messages the model received, so a test can
tell what reached the model (and what never did).
"""

from __future__ import annotations

import json
import os
import sys

import mlflow
from mlflow.pyfunc import ChatModel
from mlflow.types.llm import ChatChoice, ChatCompletionResponse, ChatMessage, ChatParams

SEEN_ENV = "LG_ECHO_SEEN"


class EchoChat(ChatModel):
    """Answers ``echo: <last user message>``."""

    def predict(self, context, messages: list[ChatMessage], params: ChatParams) -> ChatCompletionResponse:
        last = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
        seen = os.environ.get(SEEN_ENV)
        if seen:
            with open(seen, "a", encoding="utf-8") as f:
                f.write(json.dumps([{"role": m.role, "content": m.content} for m in messages]) + "\n")
        return ChatCompletionResponse(
            model="echo-chat",
            choices=[ChatChoice(index=0, message=ChatMessage(role="assistant", content=f"echo: {last}"))],
        )


mlflow.models.set_model(EchoChat())


if __name__ == "__main__":
    os.environ.pop(SEEN_ENV, None)  # MLflow validates the model on its input example: not a call to record
    # explicit requirements: MLflow would otherwise infer them by loading the model in one more
    # Python process (and `--env-manager local` serves from this environment anyway)
    mlflow.pyfunc.save_model(sys.argv[1], python_model=os.path.abspath(__file__), pip_requirements=["mlflow"])
