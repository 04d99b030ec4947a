"""A scripted model (no network) and the weather agent the conversation tests run."""

from __future__ import annotations

from typing import Any
from typing import AsyncGenerator

from google.adk.agents import LlmAgent
from google.adk.models._capabilities import LlmCapabilities
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.tools.tool_context import ToolContext
from google.genai import types

_USAGE = types.GenerateContentResponseUsageMetadata(
    prompt_token_count=42, candidates_token_count=7, total_token_count=49
)

def _last_user_text(request: LlmRequest) -> str:
  for content in reversed(request.contents or []):
    if content.role == "user":
      for part in content.parts or []:
        if part.text:
          return part.text
  return ""


def _last_function_response(request: LlmRequest) -> types.FunctionResponse | None:
  last = (request.contents or [])[-1:]
  for content in last:
    for part in content.parts or []:
      if part.function_response is not None:
        return part.function_response
  return None


class ScriptedLlm(BaseLlm):
  """Answers like a model that calls ``get_weather`` once per question.

  A user question ``weather in CITY`` gets a function call; the function's answer
  gets a text reply. Deterministic, so two runs of a conversation store the same
  contents.
  """

  model: str = "scripted"
  calls: int = 0

  @property
  def capabilities(self) -> LlmCapabilities:
    return LlmCapabilities(output_schema_and_tools=False)

  async def generate_content_async(
      self, llm_request: LlmRequest, stream: bool = False
  ) -> AsyncGenerator[LlmResponse, None]:
    self.calls += 1
    answer = _last_function_response(llm_request)
    if answer is not None:
      forecast = (answer.response or {}).get("forecast", "unknown")
      text = f"It is {forecast} in {(answer.response or {}).get('city')}."
      yield LlmResponse(
          content=types.Content(role="model", parts=[types.Part(text=text)]),
          turn_complete=True,
          usage_metadata=_USAGE,
      )
      return
    city = _last_user_text(llm_request).rsplit(" ", 1)[-1].strip("?") or "nowhere"
    yield LlmResponse(
        content=types.Content(
            role="model",
            parts=[
                types.Part(
                    function_call=types.FunctionCall(
                        id=f"call-{city.lower()}",
                        name="get_weather",
                        args={"city": city},
                    )
                )
            ],
        ),
        usage_metadata=_USAGE,
    )


def get_weather(city: str, tool_context: ToolContext) -> dict[str, Any]:
  """Returns the forecast for a city."""
  forecasts = {"Paris": "sunny", "Rome": "rainy", "Oslo": "snowy"}
  asked = list(tool_context.state.get("cities", []))
  tool_context.state["cities"] = asked + [city]
  tool_context.state["user:last_city"] = city
  tool_context.state["app:lookups"] = tool_context.state.get("app:lookups", 0) + 1
  tool_context.state["temp:scratch"] = f"looked up {city}"
  return {"city": city, "forecast": forecasts.get(city, "cloudy")}


def weather_agent(name: str = "weather") -> LlmAgent:
  return LlmAgent(
      name=name,
      model=ScriptedLlm(),
      instruction="Answer weather questions with the get_weather tool.",
      tools=[get_weather],
      output_key="last_answer",
  )
