"""A daemon's image listing, shapes checked: the API's and the CLI inspect's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from topology.engine.errors import MalformedAnswer
from topology.engine.image_listing import images_from_api, images_from_inspect

ID = "sha256:" + "1f" * 32
DIGEST = "sha256:" + "ab" * 32


def api_image(**fields: Any) -> dict[str, Any]:
    return {
        "Id": ID,
        "ParentId": "",
        "RepoTags": ["topology/workload:offline", "localhost:5000/workload:1"],
        "RepoDigests": [f"localhost:5000/workload@{DIGEST}"],
        "Created": 1764582000,
        "Size": 4_404_019,
        "SharedSize": -1,
        "Labels": {"topology.image.role": "workload"},
        "Containers": -1,
    } | fields


def test_an_api_listing_gives_tags_digests_size_and_labels() -> None:
    [image] = images_from_api([api_image()])
    assert image.id == ID
    assert image.tags == ("topology/workload:offline", "localhost:5000/workload:1")
    assert image.digests == (f"localhost:5000/workload@{DIGEST}",)
    assert image.size == 4_404_019
    assert image.created == datetime.fromtimestamp(1764582000, UTC)
    assert image.labels == {"topology.image.role": "workload"}


def test_an_inspect_gives_the_same_from_its_own_shape() -> None:
    item = api_image(Created="2026-12-01T09:37:47.612345678Z", Labels=None)
    item["Config"] = {"Labels": {"a": "b"}, "Env": ["SECRET=x"]}
    [image] = images_from_inspect([item, item])  # an image listed once per tag: once
    assert image.created == datetime(2026, 12, 1, 9, 37, 47, tzinfo=UTC)
    assert image.labels == {"a": "b"}


def test_untagged_images_and_nulls_read_as_empty() -> None:
    [image] = images_from_api(
        [api_image(RepoTags=["<none>:<none>"], RepoDigests=None, Labels=None, Size=None)]
    )
    assert (image.tags, image.digests, image.labels, image.size) == ((), (), {}, 0)
    assert images_from_api([])[0:] == []


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"Images": []}, "the image listing is not a list of objects"),
        (["x"], "the image listing: item 0 is not an object"),
        ([api_image(Id="latest")], "image item 0 Id is not an image ID"),
        ([api_image(Id=None)], "image item 0 Id is not an image ID"),
        ([api_image(Size="4MB")], "image item 0 Size is not a number of bytes"),
        ([api_image(Size=-1)], "image item 0 Size is not a number of bytes"),
        ([api_image(Size=True)], "image item 0 Size is not a number of bytes"),
        ([api_image(Size=2**60)], "image item 0 Size is not a number of bytes"),
        ([api_image(RepoTags="busybox")], "image item 0 RepoTags is not a list"),
        ([api_image(RepoTags=["Not A Tag"])], "RepoTags item 0 'Not A Tag' is not an image"),
        ([api_image(RepoTags=[f"busybox@{DIGEST}"])], "RepoTags item 0 is not a tag"),
        ([api_image(RepoDigests=["busybox:1"])], "RepoDigests item 0 is not a repository digest"),
        ([api_image(RepoTags=[7])], "RepoTags item 0 is not text"),
        ([api_image(RepoTags=["a:b"] * 1001)], "RepoTags has more than 1000 items"),
        ([api_image(Labels=["a"])], "image item 0 Labels is not an object"),
        ([api_image(Labels={"a": 1})], "image item 0 Labels value is not text"),
        ([api_image(Created=True)], "image item 0 Created is not a time"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_refused_with_a_reason(payload: Any, says: str) -> None:
    with pytest.raises(MalformedAnswer, match=says.replace("(", r"\(")):
        images_from_api(payload)
