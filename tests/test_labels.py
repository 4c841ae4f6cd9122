"""Tests of veterans.labels: the Chinese labels kept in step with the engine's tables."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sync.engine.schema import TABLES
from veterans.labels import FIELD_LABELS, TABLE_LABELS, field_label, table_label


def test_every_table_has_a_label_and_no_label_names_an_unknown_table():
    assert set(TABLE_LABELS) == set(TABLES)
    assert set(FIELD_LABELS) == set(TABLES)


@pytest.mark.parametrize("table_name", sorted(TABLES))
def test_every_field_has_a_label_and_no_label_names_an_unknown_field(table_name):
    declared = TABLES[table_name].field_names
    labelled = tuple(FIELD_LABELS[table_name])
    assert set(declared) - set(labelled) == set(), "fields without a label"
    assert set(labelled) - set(declared) == set(), "labels of fields the schema does not declare"


@pytest.mark.parametrize("table_name", sorted(TABLES))
def test_labels_are_non_blank_and_unique_within_a_table(table_name):
    labels = list(FIELD_LABELS[table_name].values())
    assert all(lab.strip() == lab and lab for lab in labels)
    assert len(set(labels)) == len(labels)
    assert table_label(table_name).strip()


def test_lookups_by_name_or_by_declaration():
    t = TABLES["veterans"]
    assert table_label("veterans") == table_label(t) == "退役军人"
    assert field_label("veterans", "id_number") == field_label(t, t.get("id_number")) == "身份证号"
    assert field_label("visits", "aid_cash") == "慰问金（元）"


def test_unknown_names_show_themselves():
    assert field_label("veterans", "added_in_a_newer_schema") == "added_in_a_newer_schema"
    assert field_label("no_such_table", "x") == "x"
    assert table_label("no_such_table") == "no_such_table"


def test_engine_schema_carries_no_labels():
    assert not hasattr(TABLES["veterans"], "label")
    assert not hasattr(TABLES["veterans"].get("name"), "label")


def test_the_engine_messages_use_the_registered_labels():
    from sync.engine.labels import label_of

    assert label_of("petitions") == "信访件"
    assert label_of("petitions", "summary") == "事项摘要"
    assert label_of("petitions", "added_in_a_newer_schema") == "added_in_a_newer_schema"


def test_pure_module_imports_no_sqlite():
    code = "import sys, veterans.labels; print('sqlite3' in sys.modules, 'grpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
