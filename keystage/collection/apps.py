from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "keystage.collection"
    label = "collection"
