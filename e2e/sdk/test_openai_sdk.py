"""The official openai SDK talks to the gateway as if it were the provider."""

import openai
import pytest
from openai import AzureOpenAI, OpenAI

MESSAGES = [{"role": "user", "content": "Say hello."}]


def openai_client(base):
    return OpenAI(base_url=f"{base}/v1", api_key="unused-by-an-open-gateway", max_retries=0)


def azure_client(base):
    return AzureOpenAI(azure_endpoint=base, api_version="2024-10-21", api_key="unused", max_retries=0)


def test_openai_non_streaming_reply_names_the_pinned_version(gateway):
    raw = openai_client(gateway).chat.completions.with_raw_response.create(model="chat-prod", messages=MESSAGES, user="alice")
    completion = raw.parse()
    deployment = raw.headers["x-switchyard-deployment"]
    expected = {"stable": "gpt-4o-2024-11-20", "canary": "gpt-4o-2025-05-13"}[deployment]
    assert completion.model == expected
    assert completion.choices[0].message.content.startswith(f"hello from {expected}")
    assert completion.usage.total_tokens > 0
    assert raw.headers["x-switchyard-model-version"] in ("gpt-4o@2024-11-20", "gpt-4o@2025-05-13")
    assert raw.headers["x-switchyard-route-revision"] == "1"


def test_the_same_user_lands_on_the_same_deployment(gateway):
    client = openai_client(gateway)
    seen = {
        client.chat.completions.with_raw_response.create(model="chat-prod", messages=MESSAGES, user="bob").headers["x-switchyard-deployment"]
        for _ in range(8)
    }
    assert len(seen) == 1


def test_openai_streaming_arrives_in_chunks_and_usage_only_when_asked(gateway):
    client = openai_client(gateway)
    chunks = list(client.chat.completions.create(model="chat-prod", messages=MESSAGES, stream=True, user="carol"))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("hello from gpt-4o-")
    assert len(chunks) > 5
    assert all(c.usage is None for c in chunks)

    with_usage = list(
        client.chat.completions.create(
            model="chat-prod", messages=MESSAGES, stream=True, user="carol", stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].usage is not None and with_usage[-1].usage.completion_tokens > 0


def test_azure_client_reaches_the_route_named_in_the_path(gateway):
    client = azure_client(gateway)
    completion = client.chat.completions.create(model="chat-prod", messages=MESSAGES, user="dave")
    assert completion.choices[0].message.content.startswith("hello from gpt-4o-")
    stream = client.chat.completions.create(model="chat-prod", messages=MESSAGES, stream=True, user="dave")
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).startswith("hello from")


def test_pinning_header_selects_the_canary(gateway):
    raw = openai_client(gateway).chat.completions.with_raw_response.create(
        model="chat-prod", messages=MESSAGES, extra_headers={"x-switchyard-deployment": "canary"}
    )
    assert raw.headers["x-switchyard-deployment"] == "canary"
    assert raw.parse().model == "gpt-4o-2025-05-13"


def test_unknown_route_is_a_not_found_error(gateway):
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client(gateway).chat.completions.create(model="no-such-route", messages=MESSAGES)
    assert caught.value.code == "model_not_found"
    assert "chat-prod" in caught.value.message


def test_missing_messages_is_a_bad_request(gateway):
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(gateway).chat.completions.create(model="chat-prod", messages=[])
    assert "messages" in caught.value.message


def test_a_stream_cut_mid_way_raises_instead_of_ending_cleanly(gateway):
    stream = openai_client(gateway).chat.completions.create(model="broken", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    assert "incomplete" in str(caught.value)


def test_models_list_shows_the_routes(gateway):
    ids = [model.id for model in openai_client(gateway).models.list()]
    assert ids == ["broken", "chat-prod"]
