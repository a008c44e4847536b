from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "madoguchi.channels"
    verbose_name = "申請経路（窓口・紙・代理申請）"
