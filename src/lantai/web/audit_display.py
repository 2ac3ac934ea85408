"""The audit log as people read it: actions and objects in Chinese, links to the objects, details
as "key: value" text, and archival content sealed from viewers not cleared for it.

三员分立 in the log (issue 12): an entry about an archival record (its creation, changes, deletion,
its electronic files) names the record and the fields that changed, but shows their values only to
a viewer whose clearance reaches the record's 密级 (the highest level the entry or the record now
carries) and whose scope holds the record. The stored entry is unchanged, so the chain verifies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Max, Q, Value
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.access.models import METHODS, PURPOSES, AccessRequest
from lantai.catalog import columns, services
from lantai.catalog.models import Record, Repository
from lantai.core import roles
from lantai.core.models import AccountChange, AuditEntry
from lantai.ingest.models import Transfer
from lantai.preservation.models import Alert, StorageLocation
from lantai.web import labels

SEALED = _("（已隐去：涉及密级高于您的涉密等级或范围以外的档案内容）")

ACTIONS: dict[str, Any] = {
    "login": _("登录"),
    "logout": _("退出登录"),
    "login_failed": _("登录失败"),
    "login_blocked": _("登录被阻止"),
    "account_locked": _("账号锁定"),
    "user_create": _("新建用户"),
    "user_active": _("启用/停用用户"),
    "password_reset": _("重置密码"),
    "password_change": _("修改本人密码"),
    "password_change_failed": _("修改密码失败"),
    "permission_change": _("变更授权"),
    "account_change_propose": _("提出管理员账号变更"),
    "account_change_confirm": _("确认管理员账号变更"),
    "account_change_reject": _("驳回管理员账号变更"),
    "api_token_issue": _("签发API令牌"),
    "api_token_revoke": _("吊销API令牌"),
    "two_factor_enroll": _("绑定双因素认证"),
    "two_factor_failed": _("双因素验证失败"),
    "two_factor_recovery_used": _("使用恢复码"),
    "two_factor_recovery_regenerate": _("重新生成恢复码"),
    "two_factor_reset": _("重置双因素认证"),
    "backup_create": _("创建备份"),
    "backup_restore": _("从备份恢复"),
    "access_denied": _("越权访问被拒绝"),
    "create": _("新建"),
    "update": _("修改"),
    "delete": _("删除"),
    "import": _("导入目录"),
    "import_rejected": _("导入被拒绝"),
    "import_failed": _("导入失败"),
    "export": _("导出目录"),
    "collection_add": _("加入专题"),
    "component_download": _("下载电子文件"),
    "transfer_receive": _("接收移交"),
    "transfer_check": _("四性检测"),
    "transfer_accept": _("接收入库"),
    "transfer_accept_refused": _("拒绝入库"),
    "transfer_return": _("退回移交"),
    "digitization_register": _("登记数字化批次"),
    "digitization_accept": _("验收数字化批次"),
    "digitization_return": _("退回数字化批次"),
    "ocr_correct": _("校对识别文本"),
    "ocr_confirm": _("确认识别文本"),
    "ocr_add_line": _("补录识别文本"),
    "recording_add": _("登记录音录像"),
    "access_request_submit": _("提交查档申请"),
    "access_request_accept": _("受理查档申请"),
    "access_request_approve": _("审批查档申请"),
    "access_request_provide": _("提供利用"),
    "access_request_refuse": _("拒绝查档申请"),
    "access_request_self_approve": _("受理人自行审批（一人馆）"),
    "access_provision": _("利用登记"),
    "storage_alert_resolve": _("处理存储告警"),
    "storage_drill": _("恢复演练"),
    "storage_location_add": _("新增存储位置"),
    "storage_location_marker": _("存储位置标识"),
    "storage_location_check": _("检查存储位置"),
    "fixity_audit_run": _("手动固定性审计"),
    "package_verify": _("校验信息包"),
    "longterm_check_run": _("手动长期保存检测"),
    "package_delete_request": _("申请删除信息包"),
    "package_delete_approve": _("批准删除信息包"),
    "package_delete_reject": _("驳回删除信息包"),
    "clamav_import": _("导入病毒库"),
    "review_task_create": _("建立开放审核任务"),
    "review_decide": _("开放审核结论"),
    "review_doubt": _("标记存疑"),
    "review_unit_opinion": _("形成单位会同审核意见"),
    "review_unit_answer": _("答复形成单位意见"),
    "review_publish": _("发布开放审核结论"),
    "review_lexicon_change": _("修改敏感词表"),
    "review_classifier_train": _("训练辅助分类器"),
    "review_exchange_export": _("导出鉴定成果"),
    "review_exchange_preview": _("预览鉴定成果导入"),
    "review_exchange_apply": _("导入鉴定成果"),
    "review_exchange_discard": _("放弃鉴定成果导入"),
    "marriage_query": _("查询婚姻登记档案"),
    "marriage_import": _("导入婚姻登记档案"),
    "marriage_rules": _("修改婚姻档案查档规则"),
    "marriage_full_id": _("查看完整证件号码"),
    "certificate_issue": _("出具证明"),
    "certificate_revoke_request": _("申请撤销证明"),
    "certificate_revoke": _("确认撤销证明"),
    "issuer_key_create": _("新建出证密钥"),
    "issuer_key_rotate": _("轮换出证密钥"),
    "issuer_key_withdraw": _("撤回出证密钥"),
    "audit_verify": _("校验审计链"),
    "audit_export": _("导出审计日志"),
    "database_create": _("建立专题数据库"),
    "database_update": _("修改专题数据库"),
    "database_fields": _("修改著录项"),
    "database_add": _("加入专题数据库"),
    "database_remove": _("移出专题数据库"),
    "database_rule": _("设置收录规则"),
    "database_rule_apply": _("执行收录规则"),
    "entry_describe": _("专题著录"),
    "database_publish": _("发布专题数据库"),
    "database_unpublish": _("停止发布专题数据库"),
    "carrier_condition_add": _("记录保护状况"),
    "conservation_action_add": _("记录保护措施"),
    "exhibition_create": _("新建展览"),
    "exhibition_edit": _("修改展览"),
    "exhibition_submit": _("提交展览审核"),
    "exhibition_publish": _("批准发布展览"),
    "exhibition_reject": _("退回展览"),
    "exhibition_withdraw": _("撤展"),
    "exhibition_schedule": _("更改展期"),
    "exhibition_restore": _("恢复展览版本"),
    "exhibition_export": _("导出展览"),
    "platform_token": _("发放平台加入令牌"),
    "platform_join": _("节点加入平台"),
    "platform_joined": _("本馆加入全区平台"),
    "platform_leave": _("节点移出平台"),
    "platform_refused": _("拒收平台消息"),
    "platform_anchor_conflict": _("节点链头与已盖戳的不一致"),
    "platform_request_sent": _("发出跨馆查档请求"),
    "platform_request_answered": _("答复跨馆查档请求"),
    "platform_request_informed": _("已告知查档人"),
    # 征集 (holdings/)
    "holdings.donor.create": _("登记捐赠者"),
    "holdings.donor.update": _("修改捐赠者"),
    "holdings.campaign.create": _("新建征集活动"),
    "holdings.campaign.update": _("修改征集活动"),
    "holdings.accession.create": _("征集登记"),
    "holdings.accession.update": _("修改征集登记"),
    "holdings.accession.status": _("征集登记状态变更"),
    "holdings.accession.link": _("关联征集档案"),
    "holdings.accession.unlink": _("解除关联征集档案"),
    "holdings.restriction.add": _("登记捐赠者限制"),
    "holdings.restriction.end": _("解除捐赠者限制"),
    "holdings.item.add": _("登记征集实物"),
    "holdings.item.update": _("修改征集实物"),
    "holdings.document.issue": _("出具捐赠证书或感谢信"),
    "holdings.document.print": _("打印捐赠证书或感谢信"),
    # 库房管理 (stacks/)
    "stacks.building.create": _("新建库房建筑"),
    "stacks.room.create": _("新建库房"),
    "stacks.room.climate": _("设定库房温湿度限值"),
    "stacks.shelf.create": _("新建档案架"),
    "stacks.box.create": _("新建档案盒"),
    "stacks.box.move": _("移动档案盒"),
    "stacks.unit.place": _("档案入盒"),
    "stacks.unit.remove": _("档案出盒"),
    "stacks.loan.lend": _("档案出库"),
    "stacks.loan.return": _("档案归库"),
    "stacks.census.start": _("开始库房清点"),
    "stacks.census.count": _("登记清点结果"),
    "stacks.discrepancy.resolve": _("处理清点差异"),
    "stacks.reading.enter": _("录入温湿度"),
    "stacks.readings.import": _("导入温湿度记录"),
    "stacks.alert.open": _("温湿度超限告警"),
    "stacks.alert.resolve": _("处理温湿度告警"),
    # 鉴定与销毁 (appraisal/)
    "appraisal_task_create": _("建立鉴定任务"),
    "appraisal_propose": _("提出鉴定意见"),
    "appraisal_decide": _("作出鉴定决定"),
    "appraisal_task_close": _("完成鉴定任务"),
    "disposal_prepare": _("编制销毁清册"),
    "disposal_approve": _("监销人批准销毁"),
    "disposal_cancel": _("撤销销毁清册"),
    "disposal_execute": _("执行销毁"),
    "disposal_complete": _("销毁完成"),
    "disposal_request_again": _("再次申请注销"),
    # 移交预警 and 进馆档案质量 (ingest/)
    "transfer_self_check": _("移交前自检"),
    "transfer_reminder": _("移交提醒"),
    "transfer_profile_set": _("设定立档单位移交信息"),
    "quality_visit_record": _("登记业务指导"),
    "quality_visit_follow_up": _("业务指导跟进"),
    # 统计 (stats/)
    "stats_counters_repair": _("重新计数统计计数器"),
    "stats_export": _("导出统计报表"),
}


@dataclass(frozen=True)
class Target:
    label: Any
    url_name: str = ""  # the object's page, reversed with its id
    permission: str = ""  # needed to open that page


TARGETS: dict[str, Target] = {
    "record": Target(_("档案"), "web:record", roles.VIEW),
    "component": Target(_("电子文件")),
    "fonds": Target(_("全宗"), "web:fonds", roles.VIEW),
    "category": Target(_("门类"), "web:category", roles.VIEW),
    "repository": Target(_("档案馆")),
    "code_rule": Target(_("档号规则")),
    "thematic_collection": Target(_("专题"), "web:collection", roles.VIEW),
    "import_batch": Target(_("导入批次"), "web:import_result", roles.IMPORT),
    "transfer": Target(_("移交"), "web:transfer", roles.RECEIVE),
    "digitization_batch": Target(_("数字化批次"), "web:digitization_batch", roles.DIGITIZE_MANAGE),
    "digitization_page": Target(_("数字化页面"), "web:digitization_correct", roles.DIGITIZE_MANAGE),
    "user": Target(_("用户"), "web:grant_edit", roles.GRANTS),
    "package": Target(_("信息包"), "web:storage_package", roles.PRESERVE),
    "storage_location": Target(_("存储位置")),
    "longterm_check": Target(_("长期保存检测"), "web:storage_check_report", roles.PRESERVE),
    "alert": Target(_("存储告警")),
    "access_request": Target(_("查档申请")),
    "provision": Target(_("利用登记")),
    "audit_log": Target(_("审计日志")),
    "url": Target(_("网址")),
    "clamav": Target(_("病毒库")),
    "storage": Target(_("存储")),
    "review_task": Target(_("开放审核任务"), "web:review_task", roles.REVIEW),
    "review_item": Target(_("审核档案"), "web:review_item", roles.REVIEW),
    "review_lexicon": Target(_("敏感词表")),
    "review_exchange": Target(_("鉴定成果导入"), "web:review_exchange_import", roles.REVIEW_MANAGE),
    "review_classifier": Target(_("辅助分类器")),
    "marriage_query": Target(_("婚姻档案查询")),
    "marriage_import": Target(_("婚姻档案导入"), "marriage:import_run", roles.MARRIAGE_MANAGE),
    "marriage_rules": Target(_("婚姻档案查档规则"), "marriage:rules_version", roles.MARRIAGE),
    "certificate": Target(_("证明"), "marriage:certificate", roles.MARRIAGE),
    "issuer_key": Target(_("出证密钥")),
    "platform_member": Target(_("平台节点")),
    "exhibit_database": Target(_("专题数据库"), "exhibit_databases:detail", roles.CURATE),
    "exhibition": Target(_("展览"), "exhibitions_staff:edit", roles.CURATE),
    "platform_message": Target(_("平台消息")),
    "remote_request": Target(_("跨馆请求"), "platform_staff:request", roles.MARRIAGE),
    "donor": Target(_("捐赠者"), "holdings:donor", roles.VIEW),
    "campaign": Target(_("征集活动"), "holdings:campaign", roles.VIEW),
    "accession": Target(_("征集登记"), "holdings:accession", roles.VIEW),
    "stacks_building": Target(_("库房建筑")),
    "stacks_room": Target(_("库房"), "stacks:room", roles.VIEW),
    "stacks_shelf": Target(_("档案架"), "stacks:shelf", roles.VIEW),
    "stacks_box": Target(_("档案盒"), "stacks:box", roles.VIEW),
    "stacks_census": Target(_("库房清点"), "stacks:census", roles.VIEW),
    "stacks_reading_import": Target(_("温湿度导入"), "stacks:readings_import_result", roles.VIEW),
    "appraisal_task": Target(_("鉴定任务"), "appraisal:task", roles.APPRAISE),
    "disposal": Target(_("销毁清册"), "appraisal:disposal", roles.APPRAISE),
    "stats_counters": Target(_("统计计数器")),
    "stats_report": Target(_("统计报表")),
}

KEYS: dict[str, Any] = {
    "ip": _("地址"),
    "changes": _("变更"),
    "username": _("用户名"),
    "role": _("角色"),
    "target_role": _("账号角色"),
    "clearance": _("涉密等级"),
    "scope_all": _("全部档案馆"),
    "repositories": _("可访问档案馆"),
    "fonds": _("全宗"),
    "active": _("启用"),
    "token_id": _("令牌编号"),
    "token_ids": _("令牌编号"),
    "name": _("名称"),
    "file": _("文件"),
    "sm3": _("SM3"),
    "category": _("门类"),
    "rows": _("行数"),
    "format": _("格式"),
    "year": _("年度"),
    "filters": _("筛选条件"),
    "ok": _("结果"),
    "checked": _("已校验条数"),
    "version": _("版本"),
    "unit": _("移交单位"),
    "reason": _("原因"),
    "path": _("网址"),
    "method": _("请求方式"),
    "record_id": _("档案"),
    "code": _("代码"),
    "added": _("加入的档案"),
    "purpose": _("利用目的"),
    "records": _("档案"),
    "certified": _("出具证明"),
    "from": _("原状态"),
    "to": _("新状态"),
    "note": _("说明"),
    "request": _("查档申请"),
    "kind": _("类别"),
    "message": _("消息"),
    "result": _("结果"),
    "sample": _("抽样数"),
    "replicas": _("副本数"),
    "files": _("文件数"),
    "failed": _("失败数"),
    "where": _("位置"),
    "required": _("必需"),
    "identity": _("标识"),
    "adopted": _("沿用"),
    "minutes": _("分钟"),
    "change": _("变更单号"),
    "proposed_by": _("提出人"),
    "via": _("途径"),
    "error": _("错误"),
    "limit": _("上限"),
    "location": _("存储位置"),
    "problems": _("问题数"),
    "repaired": _("已修复"),
    "packages": _("信息包"),
    "online": _("可访问"),
    "intact": _("完好"),
    "object_id": _("对象标识"),
    "run": _("检测编号"),
    "blocked": _("已阻止"),
    # imports (catalog/importing.py)
    "rows_total": _("总行数"),
    "imported": _("导入条数"),
    "unchanged": _("未变条数"),
    "rejected": _("拒绝条数"),
    "valid_rows_only": _("仅导入有效行"),
    "default_classification": _("默认密级"),
    "created_sm3": _("新建档号清单SM3"),
    "created_runs": _("新建档号段数"),
    "created": _("新建档号"),
    # catalogue objects (audit_changes in catalog/apps.py and ingest/apps.py)
    "level": _("级别"),
    "repository_id": _("档案馆"),
    "fonds_id": _("全宗"),
    "creator": _("立档单位"),
    "arrangement": _("整理方式"),
    "code_rule": _("档号规则"),
    "volume_item_rule": _("卷内档号规则"),
    "template": _("模板"),
    "size": _("大小"),
    "metadata": _("其他元数据"),
    "status": _("状态"),
    "return_reason": _("退回原因"),
    "accept_reason": _("接收说明"),
    # transfers, the reading room, storage, the scanner
    "rule": _("规则"),
    "submitter": _("移交人"),
    "codes": _("档号"),
    "count": _("数量"),
    "accepted_by": _("受理人"),
    "components": _("电子文件"),
    "queued": _("已排队"),
    "database": _("特征库目录"),
    "engine": _("引擎版本"),
    "running": _("运行中"),
    "code_prefix": _("档号前缀"),
    # marriage records and certificates (marriage/, certificates/)
    "requester_type": _("查询人类别"),
    "channel": _("渠道"),
    "shown": _("显示的档案"),
    "withheld": _("未显示的相符档案"),
    "refused": _("拒绝查询"),
    "rules_version": _("规则版本"),
    "for": _("用途"),
    "file_sm3": _("文件 SM3"),
    "lines": _("行数"),
    "query": _("查询日志号"),
    "issuer_key": _("出证密钥"),
    "pdf_sm3": _("PDF SM3"),
    "requested_by": _("申请人"),
    "repository": _("档案馆"),
    "not_after": _("签发截止"),
    "previous": _("原密钥"),
    "compromised_since": _("泄露时间"),
    "reference_code": _("档号"),
    "parties": _("当事人数"),
    # 专题数据库 and 网上展厅 (exhibits/)
    "slug": _("网址名"),
    "what": _("改动内容"),
    "publish_at": _("定时发布"),
    "withdraw_at": _("定时撤展"),
    "self_approved": _("本人批准"),
    "out": _("导出目录"),
    "collection": _("专题"),
    "entries": _("著录条数"),
    "old": _("原值"),
    "new": _("新值"),
    "how": _("加入方式"),
    "removed": _("移出的档案"),
    "values": _("著录内容"),
    "carrier": _("载体"),
    "grade": _("破损等级"),
    "damage": _("病害"),
    "assessed_on": _("评估日期"),
    "done_on": _("实施日期"),
    "done_by": _("实施单位或人员"),
    # 征集, 库房, 鉴定与销毁, 进馆质量 (holdings/, stacks/, appraisal/, ingest/)
    "number": _("编号"),
    "donor": _("捐赠者"),
    "items": _("件数"),
    "restrictions": _("限制条数"),
    "restriction": _("限制"),
    "until": _("截止日期"),
    "donor_lifetime": _("捐赠者生前"),
    "ended_on": _("解除日期"),
    "document": _("文书编号"),
    "box": _("档案盒"),
    "shelf": _("档案架"),
    "room": _("库房"),
    "due_on": _("应归还日期"),
    "borrower": _("借出对象"),
    "expected": _("应有件数"),
    "counted": _("清点件数"),
    "missing": _("缺失"),
    "unexpected": _("多出"),
    "misplaced": _("错放"),
    "temperature": _("温度"),
    "humidity": _("相对湿度"),
    "outcome": _("鉴定意见"),
    "adopt": _("采纳"),
    "new_retention": _("新保管期限"),
    "new_classification": _("新密级"),
    "list_sm3": _("清册 SM3"),
    "report_sm3": _("报告 SM3"),
    "place": _("销毁地点"),
    "executors": _("销毁人"),
    "executed_on": _("销毁日期"),
    "due_years": _("应移交年度"),
    "overdue_years": _("逾期年度"),
    "recipients": _("提醒对象"),
    "failed_checks": _("未通过的检测项"),
    "visited_on": _("指导日期"),
    "visitors": _("指导人员"),
    "drifts": _("不一致处数"),
    "examples": _("不一致示例"),
    "bytes": _("字节数"),
}

# keys whose values are codes of a vocabulary: the code's label
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "level": {**dict(Record.LEVELS), **dict(Repository.LEVELS)},
    "purpose": dict(PURPOSES),
    "method": dict(METHODS),
    "from": dict(AccessRequest.STATUSES),
    "to": dict(AccessRequest.STATUSES),
    "status": dict(Transfer.STATUSES),
    "kind": {**dict(Alert.KINDS), **dict(StorageLocation.KINDS), **dict(AccountChange.KINDS)},
    "rule": {
        "fonds_outside_submitter_scope": _("全宗不在移交单位的权限范围内"),
        "ACCESS_SINGLE_PERSON": _("一人馆：受理人可自行审批"),
    },
    "result": {"pass": _("通过"), "warn": _("警告"), "fail": _("不通过"), "na": _("不适用")},
    "arrangement": {"item": _("按件"), "volume": _("按卷")},
}
VOCABULARY_KEYS = ("classification", "retention", "open_status")  # record fields: vocabularies
FILTER_KEYS: dict[str, Any] = {  # the audit log's own filters (an export's entry)
    "action": _("操作"),
    "actor": _("操作人"),
    "target": _("对象"),
    "from": _("起始日期"),
    "to": _("截止日期"),
}

VALUE_WORDS: dict[str, Any] = {"console": _("控制台"), "web": _("网页")}


def key_label(key: str) -> str:
    if key in KEYS:
        return str(KEYS[key])
    return columns.field_label(key)  # record fields: their catalogue header (题名, 责任者 …)


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def target_label(target_type: str) -> str:
    target = TARGETS.get(target_type)
    return str(target.label) if target else target_type


def _inner_label(key: str, inner: str) -> str:
    if key == "filters" and inner in FILTER_KEYS:  # the audit log's own filters (its export)
        return str(FILTER_KEYS[inner])
    return key_label(inner)


def value_text(key: str, value: Any) -> str:
    """One value as people read it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if key in ("role", "target_role") and isinstance(value, str):
        return labels.role_label(value)
    if key == "clearance" and isinstance(value, int):
        return labels.clearance_label(value)
    if key == "action" and isinstance(value, str):  # the audit log's own filter
        return action_label(value)
    if key in VOCABULARY_KEYS and isinstance(value, str):
        return labels.vocab_label(key, value)
    if isinstance(value, str) and value in VALUE_LABELS.get(key, {}):
        return str(VALUE_LABELS[key][value])
    if isinstance(value, list):
        return "、".join(value_text(key, v) for v in value) or "—"
    if isinstance(value, dict):
        pairs = (f"{_inner_label(key, k)}：{value_text(k, v)}" for k, v in value.items())
        return "；".join(pairs) or "—"
    if isinstance(value, str) and value in VALUE_WORDS:
        return str(VALUE_WORDS[value])
    return str(value)


@dataclass
class Row:
    entry: AuditEntry
    action: str
    target: str
    target_url: str = ""  # the object's page, when the viewer may open it
    history_url: str = ""  # the log filtered to this object
    details: list[tuple[str, str]] = field(default_factory=list)
    sealed: bool = False

    def details_text(self) -> str:
        return "；".join(f"{k}：{v}" for k, v in self.details)


OLD_NEW_KEYS = ("role", "clearance", "scope_all")  # a grant's changes: [old, new]


def _sealed_details(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """Only the names of the fields the entry carries, and a note that their values are sealed."""
    changes = detail.get("changes")
    names = list(changes) if isinstance(changes, dict) else list(detail)
    fields = "、".join(key_label(n) for n in names)
    return [(gettext("涉及字段"), fields or "—"), (gettext("内容"), str(SEALED))]


def _runs_text(detail: dict[str, Any]) -> str:
    """An import's created 档号 runs [first, last, count], at most SHOWN_RUNS of them, and how
    many more the batch holds (the entry carries the first 50 and the count of all)."""
    runs = [r for r in detail.get("created") or [] if isinstance(r, list) and len(r) == 3]
    shown = runs[:SHOWN_RUNS]
    parts = [
        str(first)
        if first == last
        else gettext("%(first)s 至 %(last)s（%(n)s 件）") % {"first": first, "last": last, "n": n}
        for first, last, n in shown
    ]
    total = detail.get("created_runs")
    more = (total if isinstance(total, int) else len(runs)) - len(shown)
    if more > 0:
        parts.append(gettext("……另有 %(n)s 段") % {"n": more})
    return "、".join(parts) or "—"


def _details(
    action: str, detail: dict[str, Any], sealed: bool, codes_sealed: bool = False
) -> list[tuple[str, str]]:
    if sealed:
        return _sealed_details(detail)
    out: list[tuple[str, str]] = []
    for key, value in detail.items():
        if key in CODE_KEYS and value:
            text = str(SEALED) if codes_sealed else None
            if text is None and key == "created":
                text = _runs_text(detail)
            if text is not None:
                out.append((key_label(key), text))
                continue
        if action == "permission_change" and key in OLD_NEW_KEYS and isinstance(value, list):
            old_new = " → ".join(value_text(key, v) for v in value)
            out.append((key_label(key), old_new))
            continue
        if key == "changes" and isinstance(value, dict):
            for name, change in value.items():
                if isinstance(change, list) and len(change) == 2:
                    text = f"{value_text(name, change[0])} → {value_text(name, change[1])}"
                else:
                    text = value_text(name, change)
                out.append((key_label(name), text))
            continue
        out.append((key_label(key), value_text(key, value)))
    return out


# --- who may read the archival content of an entry ------------------------------------------------
def _record_of(entry: AuditEntry) -> int | None:
    """The archival record whose content the entry carries, if any."""
    if entry.target_type == "record":
        return int(entry.target_id) if entry.target_id.isdigit() else 0
    if entry.target_type in ("component", "review_item"):
        rid = (entry.detail or {}).get("record_id")
        if rid is None and isinstance((entry.detail or {}).get("changes"), dict):
            rid = entry.detail["changes"].get("record_id", [None, None])[-1]
        return int(str(rid)) if str(rid).isdigit() else 0
    return None


def _classification_levels() -> dict[str, int]:
    return {t.code: int(t.level or 0) for t in services.vocabulary_choices("classification")}


def _levels_named(detail: dict[str, Any], levels: dict[str, int]) -> list[int]:
    """The 密级 levels an entry's own values name (a record's classification then and now)."""
    found: list[Any] = []
    for value in (
        detail.get("classification"),
        (detail.get("changes") or {}).get("classification"),
    ):
        found.extend(value if isinstance(value, list) else [value])
    return [levels[v] for v in found if isinstance(v, str) and v in levels]


def _in_scope(viewer: Any) -> Q:
    """Records in a viewer's scope, for a viewer without every repository in it."""
    return Q(repository__in=viewer.repositories.all()) | Q(fonds__in=viewer.fonds.all())


def _cleared(viewer: Any, entries: list[AuditEntry]) -> set[int]:
    """Seqs of the entries carrying archival content that `viewer` is cleared to read."""
    wanted = {e.seq: rid for e in entries if (rid := _record_of(e)) is not None}
    if not wanted:
        return set()
    existing = Record.objects.filter(pk__in=set(wanted.values()))
    qs = existing.filter(classification_level__lte=viewer.clearance)
    if not viewer.scope_all:
        qs = qs.filter(_in_scope(viewer))
    in_reach = set(qs.values_list("pk", flat=True))
    still_there = set(existing.values_list("pk", flat=True))
    levels = _classification_levels()
    by_seq = {e.seq: e for e in entries}
    cleared = set()
    for seq, rid in wanted.items():
        named = _levels_named(by_seq[seq].detail or {}, levels)
        if named and max(named) > viewer.clearance:
            continue
        # a deleted record is out of reach of every scope but "all repositories"
        gone = rid not in still_there
        if rid in in_reach or (gone and viewer.scope_all and named):
            cleared.add(seq)
    return cleared


# --- who may read the 档号 an import or a transfer entry names -------------------------------------
CODE_KEYS = ("created", "codes", "problems")  # problems: working-copy paths, which name 档号
SHOWN_RUNS = 50  # runs of created 档号 shown (an import's entry carries at most 50)


def _names_codes(entry: AuditEntry) -> bool:
    detail = entry.detail or {}
    return entry.target_type in ("import_batch", "transfer") and any(
        detail.get(k) for k in CODE_KEYS
    )


def _sees_everything(viewer: Any) -> bool:
    top = max(_classification_levels().values(), default=0)
    return bool(viewer.scope_all) and viewer.clearance >= top


def _cleared_codes(viewer: Any, entries: list[AuditEntry]) -> set[int]:
    """Seqs of the import and transfer entries whose 档号 `viewer` may read: an import's when
    the viewer may see every record its batch created (clearance up to the highest 密级 among
    them, all in scope, none gone since: a deleted record's 密级 is unknown). One grouped query
    for the page. A refused transfer created nothing, so its 档号 (of unknown 密级) show only to
    a viewer who sees every record."""
    naming = [e for e in entries if _names_codes(e)]
    if not naming:
        return set()
    if _sees_everything(viewer):
        return {e.seq for e in naming}
    batches = {
        int(e.target_id): e
        for e in naming
        if e.target_type == "import_batch" and e.target_id.isdigit()
    }
    in_scope = viewer.scope_all or viewer.repositories.exists() or viewer.fonds.exists()
    if not (batches and in_scope):  # e.g. the audit administrator, with no archives in scope
        return set()
    outside = Value(0) if viewer.scope_all else Count("pk", filter=~_in_scope(viewer))
    found = (
        Record.objects.filter(import_batch_id__in=batches)
        .values("import_batch_id")
        .annotate(n=Count("pk"), top=Max("classification_level"), outside=outside)
        .order_by()
    )
    cleared = set()
    for row in found:
        entry = batches[row["import_batch_id"]]
        created = (entry.detail or {}).get("imported")
        all_there = isinstance(created, int) and row["n"] >= created
        if all_there and row["top"] <= viewer.clearance and not row["outside"]:
            cleared.add(entry.seq)
    return cleared


def _links(viewer: Any, entry: AuditEntry) -> tuple[str, str]:
    if not entry.target_type:
        return "", ""
    history = (
        reverse("web:audit") + "?" + urlencode({"target": f"{entry.target_type}:{entry.target_id}"})
    )
    target = TARGETS.get(entry.target_type)
    if entry.target_type == "url":
        detail = entry.detail or {}
        path = str(detail.get("path", ""))
        # the path was typed by whoever was refused: link it only when it stays on this site
        local = path.startswith("/") and url_has_allowed_host_and_scheme(path, allowed_hosts=None)
        return (path if detail.get("method") == "GET" and local else ""), ""
    if not (target and target.url_name and entry.target_id.isdigit()):
        return "", history if entry.target_id else ""
    if not viewer.has_perm_code(target.permission):
        return "", history
    return reverse(target.url_name, args=[int(entry.target_id)]), history


def rows(viewer: Any, entries: Iterable[AuditEntry]) -> list[Row]:
    """The entries as the viewer may read them."""
    entries = list(entries)
    cleared = _cleared(viewer, entries)
    cleared_codes = _cleared_codes(viewer, entries)
    out = []
    for e in entries:
        sealed = _record_of(e) is not None and e.seq not in cleared
        codes_sealed = _names_codes(e) and e.seq not in cleared_codes
        target_url, history_url = _links(viewer, e)
        target = target_label(e.target_type)
        if e.target_type == "url":
            target = f"{target} {(e.detail or {}).get('path', '')}"
        elif e.target_id:
            target = f"{target} #{e.target_id}"
        out.append(
            Row(
                entry=e,
                action=action_label(e.action),
                target=target,
                target_url=target_url,
                history_url=history_url,
                details=_details(e.action, e.detail or {}, sealed, codes_sealed),
                sealed=sealed or codes_sealed,
            )
        )
    return out
