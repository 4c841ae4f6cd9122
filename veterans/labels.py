"""Chinese display labels of the replicated tables and their fields.

The engine declares the tables (``sync.engine.schema``: names, kinds, order);
what a clerk reads is domain and lives here, as data. Pure code: no sqlite,
no grpc. tests/test_labels.py holds the two in step: every declared table and field has
a label here, and no label names a field the schema does not declare.

``recorded_by`` (who wrote a row's latest version at a station) reads 经办人; of a
信访办理记录, whose ``actor`` (the handler of the step) is already 经办人, 录入人.

A name unknown here (a field of a newer schema, kept in ``_extra``) is shown as
itself. Importing this module also registers the labels with
``sync.engine.labels``, so that the engine's own messages (a record not found,
a pushed field too long) name tables and fields in Chinese without the engine
importing the domain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.engine import labels as _engine_labels

if TYPE_CHECKING:
    from sync.engine.schema import Field, Table

__all__ = ["TABLE_LABELS", "FIELD_LABELS", "table_label", "field_label"]

#: Label of each replicated table.
TABLE_LABELS: dict[str, str] = {
    "veterans": "退役军人",
    "visits": "走访慰问",
    "petitions": "信访件",
    "petition_events": "信访办理记录",
    "plaques": "光荣牌",
    "contact_triggers": "必访事项",
    "conflicts": "冲突",
    "areas": "区划名称",
}

#: Per table, the label of each of its fields (in schema order).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "veterans": {
        "id": "编号",
        "id_number": "身份证号",
        "name": "姓名",
        "gender": "性别",
        "birth_date": "出生日期",
        "ethnicity": "民族",
        "phone": "联系电话",
        "address": "住址",
        "area": "区划代码",
        "category": "类别",
        "branch": "军种",
        "unit": "原部队",
        "enlisted_on": "入伍时间",
        "discharged_on": "退役时间",
        "disability_level": "伤残等级",
        "disability_cause": "伤残性质",
        "honor_plaque": "光荣牌悬挂日期",
        "health": "健康状况",
        "family": "家庭情况",
        "difficulties": "困难情况",
        "needs": "诉求",
        "status": "状态",
        "note": "备注",
        "merged_into": "并入",
        "deleted": "已删除",
        "recorded_by": "经办人",
        "categories": "其他类别",
        "political_status": "政治面貌",
        "placement": "安置方式",
        "employment": "就业情况",
        "priority_type": "重点优抚对象类别",
        "disability_rated_on": "评残日期",
        "disability_cert_no": "残疾军人证号",
        "died_on": "去世日期",
        "soldier_id": "关联军人",
        "relationship": "与军人关系",
        "contact_policy": "联系类型",
        "liaison": "包联人/网格员",
        "registered_on": "建档日期",
        "moved_out_on": "迁出日期",
    },
    "visits": {
        "id": "编号",
        "veteran_id": "退役军人",
        "area": "区划代码",
        "station": "走访站点",
        "visitors": "走访人",
        "visited_on": "走访日期",
        "kind": "方式",
        "occasion": "事由",
        "summary": "情况摘要",
        "difficulties": "反映困难",
        "aid_cash": "慰问金（元）",
        "aid_goods": "慰问品",
        "follow_up": "后续跟进",
        "deleted": "已删除",
        "recorded_by": "经办人",
        "follow_up_due": "跟进期限",
        "follow_up_done": "跟进完成日期",
        "aid_goods_value": "慰问品折价（元）",
    },
    "plaques": {
        "id": "编号",
        "veteran_id": "退役军人",
        "area": "区划代码",
        "household": "户主",
        "address": "住址",
        "hung_on": "悬挂日期",
        "hung_by": "悬挂人",
        "signed_by": "签收人",
        "replaced_on": "更换日期",
        "replace_reason": "更换原因",
        "note": "备注",
        "deleted": "已删除",
        "recorded_by": "经办人",
    },
    "contact_triggers": {
        "id": "编号",
        "veteran_id": "退役军人",
        "area": "区划代码",
        "kind": "事由",
        "occurred_on": "发生日期",
        "due_by": "应访期限",
        "note": "说明",
        "closed_on": "关闭日期",
        "deleted": "已删除",
        "recorded_by": "经办人",
    },
    "petitions": {
        "id": "编号",
        "veteran_id": "退役军人",
        "petitioner": "信访人",
        "contact": "联系方式",
        "area": "区划代码",
        "station": "登记站点",
        "channel": "信访形式",
        "group_size": "人数",
        "received_on": "收到日期",
        "class": "类别",
        "summary": "事项摘要",
        "handler": "承办人",
        "confidential": "保密（检举控告）",
        "deleted": "已删除",
        "recorded_by": "经办人",
        "case_no": "信访信息系统编号",
        "domain": "涉及领域",
        "respondent": "被投诉单位",
        "collective": "集体访",
        "representatives": "代表人数",
        "address_unclear": "姓名或住址不清",
        "linked_to": "前次信访件",
    },
    "petition_events": {
        "id": "编号",
        "petition_id": "信访件",
        "area": "区划代码",
        "at": "日期",
        "kind": "环节",
        "outcome": "答复意见",
        "actor": "经办人",
        "note": "说明",
        "from_status": "办理前状态",
        "deleted": "已删除",
        "voids": "作废的环节",
        "recorded_by": "录入人",
        "method": "处理方式",
        "days": "天数",
        "approver": "批准人",
        "served_on": "送达/告知日期",
    },
    "conflicts": {
        "id": "编号",
        "kind": "类型",
        "table": "表",
        "row_id": "记录",
        "field": "字段",
        "area": "区划代码",
        "winner_value": "采用值",
        "winner_version": "采用值版本",
        "winner_station": "采用值站点",
        "loser_value": "未采用值",
        "loser_version": "未采用值版本",
        "loser_station": "未采用值站点",
        "detected_at": "发现时间",
        "status": "状态",
        "resolution": "处理结果",
        "resolved_by": "处理人",
        "deleted": "已删除",
        "confidential": "保密",
        "station": "限于站点",
    },
    "areas": {
        "id": "编号",
        "area": "区划代码",
        "name": "名称",
        "level": "层级",
        "deleted": "已删除",
    },
}


def _name(x: "str | Table | Field") -> str:
    return x if isinstance(x, str) else x.name


def table_label(table: "str | Table") -> str:
    """Chinese label of a table; an unknown table shows its name."""
    name = _name(table)
    return TABLE_LABELS.get(name, name)


def field_label(table: "str | Table", field: "str | Field") -> str:
    """Chinese label of a field of ``table``; an unknown field shows its name."""
    name = _name(field)
    return FIELD_LABELS.get(_name(table), {}).get(name, name)


# The engine's own messages name tables and fields by these labels too.
_engine_labels.register(
    {
        **{(t, None): label for t, label in TABLE_LABELS.items()},
        **{(t, f): label for t, fields in FIELD_LABELS.items() for f, label in fields.items()},
    }
)
