"""The Namespace objects admission sees (read/namespaces.py) and --namespace-labels."""

from __future__ import annotations

import argparse

import pytest

from toolman_kit.commands.options import add_namespace_labels
from toolman_kit.read.index import Index
from toolman_kit.read.manifests import load
from toolman_kit.read.namespaces import NAME_LABEL, is_synthesized, namespace_object

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {pod-security.kubernetes.io/enforce: restricted}}
"""


def test_a_namespace_in_the_manifests_keeps_its_labels_over_the_given_ones():
    index = Index(load(MANIFESTS))
    ns = namespace_object(index, "prod", {"pod-security.kubernetes.io/enforce": "baseline",
                                          "team": "a"})
    assert ns["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "restricted",
                                        "team": "a", NAME_LABEL: "prod"}
    assert not is_synthesized(index, "prod")


def test_a_namespace_not_in_the_manifests_is_the_one_the_api_server_holds():
    index = Index(load(MANIFESTS))
    ns = namespace_object(index, "other", {"team": "a"})
    assert ns == {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "other", "labels": {"team": "a", NAME_LABEL: "other"}}}
    assert is_synthesized(index, "other")


def test_namespace_labels_flag():
    p = argparse.ArgumentParser()
    add_namespace_labels(p)
    args = p.parse_args(["--namespace-labels", "a=1", "b=x=y", "--namespace-labels", "c="])
    assert args.namespace_labels == [("a", "1"), ("b", "x=y"), ("c", "")]
    with pytest.raises(SystemExit):
        p.parse_args(["--namespace-labels", "novalue"])
