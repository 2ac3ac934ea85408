from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "lantai.catalog"
    label = "catalog"
    verbose_name = "档案管理"

    def ready(self) -> None:
        from lantai.catalog import models
        from lantai.core.signals import audit_changes

        audit_changes(models.Repository, "repository", ("code", "name", "level"))
        audit_changes(models.Fonds, "fonds", ("repository_id", "code", "name", "creator"))
        audit_changes(
            models.Category,
            "category",
            ("fonds_id", "code", "arrangement", "code_rule", "volume_item_rule"),
        )
        audit_changes(models.Record, "record", models.Record.AUDITED_FIELDS)
        audit_changes(models.Component, "component", ("record_id", "name", "size", "sm3"))
        audit_changes(
            models.ThematicCollection, "thematic_collection", ("repository_id", "code", "name")
        )
        audit_changes(models.CodeRuleDefinition, "code_rule", ("name", "template", "arrangement"))
