"""Generate the event fixtures of adk-sessions with the real google-adk.

Each fixture is one adk-python ``Event`` written twice:

  <name>.snake.json  event.model_dump(exclude_none=True, mode="json")
                     (what DatabaseSessionService stores in ``event_data``)
  <name>.camel.json  event.model_dump(exclude_none=True, mode="json", by_alias=True)
                     (what adk-python's API server serves)

Run (with google-adk[db]==2.13.0 installed):

    python tools/make_fixtures.py [OUT_DIR]

OUT_DIR defaults to crates/adk-sessions/tests/fixtures/events next to this script.
Ids and timestamps are fixed so the output is reproducible.
"""

from __future__ import annotations

import json
import pathlib
import sys

from google.adk.events import Event
from google.adk.events.event import NodeInfo
from google.adk.events.event_actions import EventActions
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types

BASE_TS = 1767225600.123456  # 2026-01-01T00:00:00.123456Z


def ev(n: int, **kwargs) -> Event:
  """An event with a fixed id, invocation id and timestamp."""
  kwargs.setdefault("author", "root_agent")
  return Event(
      id=f"evt-{n:04d}",
      invocation_id=f"inv-{n:04d}",
      timestamp=BASE_TS + n * 1.000001,
      **kwargs,
  )


def text_content(role: str, text: str) -> types.Content:
  return types.Content(role=role, parts=[types.Part(text=text)])


def build() -> dict[str, Event]:
  out: dict[str, Event] = {}

  out["text_user"] = ev(
      1, author="user", content=text_content("user", "Hello, agent! 👋 ¿Qué tal?")
  )
  out["text_model"] = ev(
      2,
      content=types.Content(
          role="model",
          parts=[types.Part(text="First part."), types.Part(text="Second\npart.")],
      ),
      turn_complete=True,
  )
  out["inline_bytes"] = ev(
      3,
      author="user",
      content=types.Content(
          role="user",
          parts=[
              types.Part(text="see attachment"),
              types.Part(
                  inline_data=types.Blob(
                      mime_type="application/octet-stream",
                      data=b"\xff\xfe\x00\x80\x01\x3f\x3e\xfb\xef",
                      display_name="raw.bin",
                  )
              ),
          ],
      ),
  )
  out["function_call"] = ev(
      4,
      content=types.Content(
          role="model",
          parts=[
              types.Part(
                  function_call=types.FunctionCall(
                      id="call-1",
                      name="search_flights",
                      args={
                          "fromCity": "Paris",
                          "to_city": "Tōkyō",
                          "passengers": [
                              {"firstName": "Ada", "age": 36},
                              {"firstName": "Alan", "age": None},
                          ],
                          "options": {"maxStops": 1, "flexible": False, "nested": {"deepKey": [1, 2.5, "x"]}},
                      },
                  )
              )
          ],
      ),
  )
  out["function_response"] = ev(
      5,
      author="root_agent",
      content=types.Content(
          role="user",
          parts=[
              types.Part(
                  function_response=types.FunctionResponse(
                      id="call-1",
                      name="search_flights",
                      response={
                          "result": [{"flightNo": "AF276", "priceEur": 812.5}],
                          "nextPageToken": None,
                          "isFinal": True,
                      },
                  )
              )
          ],
      ),
      actions=EventActions(skip_summarization=True),
  )
  out["long_running"] = ev(
      6,
      content=types.Content(
          role="model",
          parts=[
              types.Part(
                  function_call=types.FunctionCall(
                      id="call-lr-2", name="approve_expense", args={"amountUsd": 120}
                  )
              ),
              types.Part(
                  function_call=types.FunctionCall(
                      id="call-lr-1", name="approve_expense", args={"amountUsd": 80}
                  )
              ),
          ],
      ),
      long_running_tool_ids={"call-lr-2", "call-lr-1"},
  )
  out["error"] = ev(
      7,
      error_code="RESOURCE_EXHAUSTED",
      error_message="Quota exceeded for model gemini-x: 429 — retry later",
      finish_reason=types.FinishReason.MAX_TOKENS,
  )
  out["interrupted"] = ev(
      8,
      content=text_content("model", "I was about to say"),
      interrupted=True,
      partial=False,
  )
  out["turn_complete"] = ev(9, turn_complete=True, model_version="gemini-2.5-flash")
  out["usage_metadata"] = ev(
      10,
      content=text_content("model", "answer"),
      usage_metadata=types.GenerateContentResponseUsageMetadata(
          prompt_token_count=120,
          candidates_token_count=42,
          total_token_count=170,
          thoughts_token_count=8,
          cached_content_token_count=0,
          prompt_tokens_details=[
              types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=100),
              types.ModalityTokenCount(modality=types.MediaModality.IMAGE, token_count=20),
          ],
          candidates_tokens_details=[
              types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=42)
          ],
      ),
  )
  out["grounding_metadata"] = ev(
      11,
      content=text_content("model", "Paris is the capital of France."),
      grounding_metadata=types.GroundingMetadata(
          web_search_queries=["capital of France"],
          grounding_chunks=[
              types.GroundingChunk(
                  web=types.GroundingChunkWeb(
                      uri="https://example.com/paris", title="Paris", domain="example.com"
                  )
              )
          ],
          grounding_supports=[
              types.GroundingSupport(
                  segment=types.Segment(start_index=0, end_index=30, text="Paris is the capital of France."),
                  grounding_chunk_indices=[0],
                  confidence_scores=[0.93],
              )
          ],
          search_entry_point=types.SearchEntryPoint(
              rendered_content="<div>search</div>", sdk_blob=b"\x00\xffblob"
          ),
      ),
  )
  out["citation_metadata"] = ev(
      12,
      content=text_content("model", "As the poet said..."),
      citation_metadata=types.CitationMetadata(
          citations=[
              types.Citation(
                  start_index=3,
                  end_index=18,
                  uri="https://example.org/poem",
                  title="A Poem",
                  license="CC-BY-4.0",
                  publication_date=types.GoogleTypeDate(year=1999, month=12, day=31),
              )
          ]
      ),
  )
  out["custom_metadata"] = ev(
      13,
      content=text_content("model", "tagged"),
      custom_metadata={
          "traceId": "abc-123",
          "snake_key": 1,
          "nestedObj": {"innerCamel": [True, None, {"deepKey": "v"}]},
          "ünïcode": "✓",
      },
  )
  out["branch"] = ev(
      14,
      author="child_agent",
      branch="root_agent.child_agent",
      content=text_content("model", "from a sub-agent"),
  )
  out["node_info"] = ev(
      15,
      author="workflow",
      node_info=NodeInfo(
          path="wf@1/fetch@2",
          output_for=["wf@1/fetch@2", "wf@1"],
          message_as_output=True,
      ),
      content=text_content("model", "node output as message"),
  )
  out["output"] = ev(
      16,
      author="workflow",
      node_info=NodeInfo(path="wf@1/summarize@1"),
      output={
          "summaryText": "done",
          "itemCount": 3,
          "items": [{"itemId": "a"}, {"itemId": "b"}],
          "extraInfo": None,
          "ok": False,
      },
  )
  out["tool_confirmation"] = ev(
      17,
      actions=EventActions(
          requested_tool_confirmations={
              "call-9": ToolConfirmation(
                  hint="Approve a transfer of 500 EUR?",
                  confirmed=False,
                  payload={"amountEur": 500, "toAccount": "FR76-XXXX"},
              )
          }
      ),
  )
  out["state_delta"] = ev(
      18,
      actions=EventActions(
          state_delta={
              "app:themeColor": "dark",
              "app:maxRetries": 3,
              "user:displayName": "Zoë",
              "user:prefs": {"fontSize": 14, "notifyOn": ["email", "sms"], "darkMode": None},
              "temp:scratchPad": "only this invocation",
              "counter": 1,
              "camelCaseKey": {"nestedDict": {"deeperKey": [1, {"x": None}]}},
              "nullValue": None,
              "falseValue": False,
              "zeroValue": 0,
              "emptyObj": {},
              "emptyList": [],
              "unicodeKey_日本語": "値 🎌",
              "floatValue": 0.1,
          },
          artifact_delta={"report.pdf": 2, "imageFile.png": 0},
      ),
  )
  out["transfer_escalate"] = ev(
      19,
      actions=EventActions(
          transfer_to_agent="billing_agent",
          escalate=True,
          skip_summarization=False,
          transfer_reason="user asked about invoices",
      ),
  )
  out["thought"] = ev(
      20,
      content=types.Content(
          role="model",
          parts=[
              types.Part(
                  text="Let me think about it.",
                  thought=True,
                  thought_signature=b"\x8f\x00\xfe\xffsig\x01",
              ),
              types.Part(text="The answer is 42."),
          ],
      ),
  )
  out["file_data"] = ev(
      21,
      author="user",
      content=types.Content(
          role="user",
          parts=[
              types.Part(
                  file_data=types.FileData(
                      file_uri="gs://bucket/report.pdf",
                      mime_type="application/pdf",
                      display_name="report.pdf",
                  )
              )
          ],
      ),
  )
  out["code_execution"] = ev(
      22,
      content=types.Content(
          role="model",
          parts=[
              types.Part(
                  executable_code=types.ExecutableCode(
                      language=types.Language.PYTHON, code="print(6 * 7)"
                  )
              ),
              types.Part(
                  code_execution_result=types.CodeExecutionResult(
                      outcome=types.Outcome.OUTCOME_OK, output="42\n"
                  )
              ),
          ],
      ),
  )
  return out


def main() -> None:
  here = pathlib.Path(__file__).resolve().parent
  default = here.parent / "crates/adk-sessions/tests/fixtures/events"
  out_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else default
  out_dir.mkdir(parents=True, exist_ok=True)
  for name, event in build().items():
    # Every fixture must be readable back by adk-python itself.
    snake = event.model_dump(exclude_none=True, mode="json")
    camel = event.model_dump(exclude_none=True, mode="json", by_alias=True)
    assert Event.model_validate(snake) == event, name
    assert Event.model_validate(camel) == event, name
    for suffix, value in (("snake", snake), ("camel", camel)):
      path = out_dir / f"{name}.{suffix}.json"
      path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
  print(f"wrote {2 * len(build())} files to {out_dir}")


if __name__ == "__main__":
  main()
