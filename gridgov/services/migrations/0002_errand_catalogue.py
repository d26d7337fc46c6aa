"""A starter errand catalogue (~30 items across village, town and district levels), editable in
the admin afterwards. Limits are common practice in 一网通办 lists, in working days."""

from django.db import migrations

ID = "身份证"
HUKOU = "户口簿"
PHOTO = "近期免冠照片"
ITEMS = [
    # village (community) level
    ("居住证明开具", "village", [ID, HUKOU], 1, "社区居委会"),
    ("高龄津贴申领", "village", [ID, HUKOU, "银行卡"], 5, "社区居委会"),
    ("老年人优待证办理", "village", [ID, PHOTO], 5, "社区居委会"),
    ("残疾人证申请初审", "village", [ID, HUKOU, PHOTO, "医院诊断证明"], 5, "社区居委会"),
    ("城乡居民医保参保登记", "village", [ID, HUKOU], 3, "社区居委会"),
    ("城乡居民养老保险参保登记", "village", [ID, HUKOU, "银行卡"], 3, "社区居委会"),
    ("独生子女父母光荣证办理", "village", [ID, HUKOU, "结婚证"], 5, "社区居委会"),
    ("生育登记", "village", [ID, "结婚证"], 1, "社区居委会"),
    ("流动人口居住登记", "village", [ID, "租赁合同"], 1, "社区居委会"),
    ("家庭经济困难证明", "village", [ID, HUKOU, "收入证明"], 3, "社区居委会"),
    ("助餐服务申请", "village", [ID], 2, "社区居委会"),
    ("居家养老服务申请", "village", [ID, HUKOU], 5, "社区居委会"),
    # town (street) level
    ("最低生活保障申请", "town", [ID, HUKOU, "收入证明", "家庭财产申报表"], 30, "街道社会事务办"),
    ("特困人员救助供养申请", "town", [ID, HUKOU, "收入证明"], 20, "街道社会事务办"),
    ("临时救助申请", "town", [ID, "困难情况说明"], 10, "街道社会事务办"),
    ("残疾人两项补贴申领", "town", [ID, "残疾人证", "银行卡"], 15, "街道社会事务办"),
    ("就业困难人员认定", "town", [ID, "就业创业证"], 10, "街道劳动保障所"),
    ("失业登记", "town", [ID, "解除劳动合同证明"], 1, "街道劳动保障所"),
    ("就业创业证申领", "town", [ID, PHOTO], 5, "街道劳动保障所"),
    ("灵活就业社保补贴申领", "town", [ID, "就业创业证", "缴费凭证"], 15, "街道劳动保障所"),
    ("计划生育特别扶助申请", "town", [ID, HUKOU, "独生子女父母光荣证"], 20, "街道卫生健康办"),
    ("退役军人优待证申领", "town", [ID, "退役证明", PHOTO], 10, "街道退役军人服务站"),
    # district level
    ("社会保障卡申领", "district", [ID, PHOTO], 10, "区人力资源和社会保障局"),
    ("医保异地就医备案", "district", [ID, "社会保障卡"], 3, "区医疗保障局"),
    ("门诊慢特病待遇认定", "district", [ID, "社会保障卡", "病历资料"], 15, "区医疗保障局"),
    ("公共租赁住房申请", "district", [ID, HUKOU, "收入证明", "住房情况证明"], 20, "区住房和城乡建设局"),
    ("身份证换领", "district", [ID, HUKOU], 20, "区公安分局"),
    ("户口迁移", "district", [HUKOU, ID, "准迁证明"], 10, "区公安分局"),
    ("不动产登记资料查询", "district", [ID], 5, "区不动产登记中心"),
    ("法律援助申请", "district", [ID, "经济困难证明", "案件材料"], 7, "区司法局"),
]


def seed(apps, schema_editor):
    ErrandItem = apps.get_model("services", "ErrandItem")
    for name, level, materials, days, department in ITEMS:
        ErrandItem.objects.get_or_create(
            name=name,
            defaults={"level": level, "materials": materials, "time_limit_days": days, "department": department},
        )


def unseed(apps, schema_editor):
    apps.get_model("services", "ErrandItem").objects.filter(name__in=[i[0] for i in ITEMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("services", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
