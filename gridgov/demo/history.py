"""A year of case history for the demo district, written in bulk.

`build_routes()` adds routing rules from the demo's street and district departments;
`build_history(profile)` then generates about 110 cases per level-3 grid per year
(fengqiao ≈ 20,000, jinhua ≈ 33,000) with their logs and ratings.

Each case lives through the same steps the workflow service would have taken, applied
by the workflow's own action handlers (`workflow.HANDLERS`) and clock rules
(`STAGE_OF_STATE`, `RESTARTS_HANDLING`, `start_stage`), so its fields and its log are
what `intake.submit` and `workflow.act` would have written at those moments. Only the
two handlers that read the database (dispatch, merge) are done here by hand. Nothing
goes through the services per case: cases and logs are written in bulk (`core.bulk.insert_rows`).

When each step happens is drawn as a share of the running stage's time limit, measured
in office time for working-time limits (`OfficeClock`, built from the working calendar),
and a case's life stops at `now`: recent cases are left in the open states with the
traffic light `refresh_lights()` would show. Shares in the states that the lights job
escalates stay below 1.4, so no generated case is due an automatic escalation.

Realism (seed articles): channels ≈ 60% grid workers, 20% residents, 10% hotline, 10%
solved on the spot (more on "Grid Wednesday"); weekday and office-hour peaks, dips at
weekends, Spring Festival and National Day; ≈ 2% rejected, 1% merged into an earlier
case, 0.5% left suspended; ≈ 8% returned once, 5% reworked, 3% extended, 90% handled on
time; ≈ 70% of closed worker and resident cases rated (85/12/3).
"""

import random
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import shapely
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from gridgov.accounts.models import Assignment, Department, Role, User
from gridgov.cases import workflow
from gridgov.cases.intake import WORKER_ROLES
from gridgov.cases.lights import light_for
from gridgov.cases.models import Case, CaseLog, Category, CategoryRoute, Urgency
from gridgov.core import bulk
from gridgov.demo.builder import DEMO_PASSWORD, DEPARTMENTS_DISTRICT, DEPARTMENTS_PER_STREET, Profile
from gridgov.grids import locator
from gridgov.grids.codes import code_lengths
from gridgov.grids.locator import CRS, get_index
from gridgov.grids.models import Grid
from gridgov.privacy.masking import normalize_phone
from gridgov.worktime import cache as worktime_cache
from gridgov.worktime.models import CalendarDay, TimeUnit
from gridgov.worktime.services import elapsed_share, is_workday

S = Case.State
C = Case.Channel
CASES_PER_GRID_YEAR = 110
RESIDENTS = 200
BATCH = 2000
ONE_DAY = timedelta(days=1)
WORKING_UNITS = {TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS}
# The states refresh_lights() escalates once 1.5 of the limit is used.
ESCALATED_STATES = {S.REPORTED, S.REGISTERED, S.RETURNED, S.DISPATCHED, S.ACCEPTED}
LATE = 1.4


# --- routing rules -------------------------------------------------------------------------

# Which demo department handles each class (two digits) and the leaves that differ from
# their class; keys are a street department's suffix or a district department's name.
CLASS_DEPARTMENT = {
    "01": "区住房和城乡建设局",
    "02": "区住房和城乡建设局",
    "03": "环卫所",
    "04": "环卫所",
    "05": "区住房和城乡建设局",
    "06": "环卫所",
    "07": "城管中队",
    "08": "城管中队",
    "09": "城管中队",
    "10": "区住房和城乡建设局",
    "11": "司法所",
    "12": "派出所",
    "13": "派出所",
    "14": "区民政局",
    "15": "区民政局",
}
LEAF_DEPARTMENT = {
    **dict.fromkeys(
        [
            "06001",
            "06002",
            "06003",
            "06006",
            "06007",
            "06009",
            "06027",
            "06028",
            "06029",
            "06039",
            "06040",
            "06045",
            "14003",
        ],
        "城管中队",
    ),
    **dict.fromkeys(
        ["06013", "06048", "06049", "06050", "06051", "06052", "13005", "14009"], "区住房和城乡建设局"
    ),
    **dict.fromkeys(
        [
            "01001",
            "01002",
            "01003",
            "01004",
            "01018",
            "01019",
            "01024",
            "01025",
            "01056",
            "01063",
            "01067",
            "01068",
            "01069",
            "01070",
            "01071",
            "01072",
            "01073",
            "06023",
            "06024",
            "06025",
            "06026",
            "06030",
            "06046",
            "14008",
        ],
        "区水务局",
    ),
    **dict.fromkeys(
        ["01005", "01017", "01028", "01029", "01030", "01047", "01048", "01060", "10002"], "供电公司"
    ),
    **dict.fromkeys(["01011", "01021", "01036", "01049", "01057", "13003"], "燃气公司"),
    **dict.fromkeys(["13007", "13008", "11007", "09015", "09020", "15003"], "市场监管所"),
    **dict.fromkeys(["14004", "14006", "11004", "15001"], "区人力资源和社会保障局"),
    **dict.fromkeys(["11008", "14002", "14010"], "派出所"),
    "09003": "区民政局",
}
STREET_SUFFIXES = {suffix for suffix, _duty in DEPARTMENTS_PER_STREET}
DISTRICT_NAMES = {name for name, _duty in DEPARTMENTS_DISTRICT}


def _case_categories():
    """Active matter and request categories, with their parents loaded."""
    kinds = (Category.Kind.MATTER, Category.Kind.REQUEST)
    return list(
        Category.objects.filter(is_active=True, kind__in=kinds)
        .select_related("parent")
        .order_by("standard_ref", "code")
    )


@transaction.atomic
def build_routes() -> int:
    """Routing rules from the demo departments: street offices per street, district bodies
    district-wide. A street's rule beats the district's (routing.propose_department), so a
    class whose default is a street office but some leaves go to a district body gets
    leaf rules in the streets instead of a class rule. Returns the number of rules added."""
    streets = list(Grid.objects.filter(level=1).values_list("id", "name"))
    by_street = {
        (area, name): pk
        for pk, name, area in Department.objects.filter(is_active=True, area__isnull=False).values_list(
            "id", "name", "area_id"
        )
    }
    district = {
        name: pk
        for pk, name in Department.objects.filter(is_active=True, area__isnull=True).values_list("id", "name")
    }
    categories = _case_categories()
    leaves_of = defaultdict(list)
    for category in categories:
        if category.parent_id:
            leaves_of[category.parent_id].append(category)
    wanted: list[tuple[int, int | None, int]] = []  # (category, area, department)

    def route(category, key: str) -> None:
        if key in DISTRICT_NAMES:
            if key in district:
                wanted.append((category.pk, None, district[key]))
            return
        for street_id, street_name in streets:
            department = by_street.get((street_id, f"{street_name}{key}"))
            if department:
                wanted.append((category.pk, street_id, department))

    for cls in (c for c in categories if c.parent_id is None and c.code in CLASS_DEPARTMENT):
        default = CLASS_DEPARTMENT[cls.code]
        leaves = leaves_of[cls.pk]
        exceptions = {
            leaf.pk: LEAF_DEPARTMENT[leaf.code]
            for leaf in leaves
            if LEAF_DEPARTMENT.get(leaf.code, default) != default
        }
        shadowing = default in STREET_SUFFIXES and any(k in DISTRICT_NAMES for k in exceptions.values())
        if shadowing:
            for leaf in leaves:
                route(leaf, exceptions.get(leaf.pk, default))
        else:
            route(cls, default)
            for leaf in leaves:
                if leaf.pk in exceptions:
                    route(leaf, exceptions[leaf.pk])
    existing = set(CategoryRoute.objects.values_list("category_id", "area_id"))
    new = []
    for category, area, department in wanted:
        if (category, area) not in existing:
            existing.add((category, area))
            new.append(CategoryRoute(category_id=category, area_id=area, department_id=department))
    CategoryRoute.objects.bulk_create(new, batch_size=BATCH)
    return len(new)


# --- texts ---------------------------------------------------------------------------------

HOMES = [
    "{n}号楼东侧",
    "{n}号楼西侧",
    "{n}号楼楼下",
    "{n}幢{u}单元楼道",
    "{n}号楼后侧空地",
    "小区南门",
    "小区北门口",
    "小区东门外",
    "小区地下车库入口",
    "小区中心花园",
    "小区健身广场旁",
    "小区垃圾分类亭旁",
    "{n}号楼与{m}号楼之间的通道",
]
STREETS = [
    "{road}与{road2}交叉口",
    "{road}{k}号门前",
    "{road}人行道上",
    "{road}公交站台旁",
    "{road}沿街商铺前",
    "{road}农贸市场入口",
    "{road}桥下",
    "{road}学校门口",
    "{road}绿化带旁",
]
ON_STREET = {"02", "07", "08", "09", "10"}
AT_HOME = {"11", "12", "13", "14", "15"}

PHRASES = {
    "06010": ["有暴露垃圾，已堆积{d}天", "有生活垃圾随意堆放，气味较大", "绿化带内有暴露垃圾，影响环境"],
    "06011": ["积存建筑垃圾渣土约{k}立方米，长期无人清运"],
    "06012": ["路面油污较多，行人容易滑倒", "道路不洁，落叶和纸屑较多"],
    "06013": ["路面出现坑洼，约{k}平方米，雨天积水", "人行道地砖松动破损，存在绊倒隐患"],
    "06017": ["绿地内杂物较多，脏乱明显"],
    "06027": ["餐饮店油烟直排，居民反映气味很大"],
    "06028": ["夜间噪声扰民，影响周边居民休息", "广场舞音响声音过大，居民意见较大"],
    "06029": ["夜间有露天烧烤，烟雾较大"],
    "06034": ["有一辆废弃车辆长期停放，车身积灰"],
    "06035": ["有废弃沙发、床垫等大件家具随意丢弃"],
    "06036": ["楼道内堆放纸箱等杂物，影响通行", "公共区域乱堆杂物，存在消防隐患"],
    "06041": ["垃圾未分类投放，厨余垃圾与其他垃圾混装"],
    "06042": ["垃圾箱满溢，周边散落垃圾", "垃圾站满溢未及时清运"],
    "06007": ["居民沿街晾晒衣物被褥，影响市容"],
    "06001": ["有住户在屋顶私搭乱建彩钢棚"],
    "07001": ["墙面张贴开锁、办证等非法小广告", "电线杆上贴满小广告"],
    "08001": ["工地夜间施工噪声扰民"],
    "08004": ["工地未覆盖裸土，扬尘较大"],
    "08002": ["施工材料占用人行道，行人只能绕行机动车道"],
    "09001": ["有无照流动摊贩叫卖"],
    "09005": ["商铺店外摆放货架经营，占用人行道"],
    "09006": ["有流动摊贩占道经营水果", "早点摊占道经营，影响通行"],
    "09009": ["机动车乱停放，堵塞通道", "多辆机动车停放在人行道上"],
    "09010": ["非机动车乱停放，影响行人通行"],
    "09011": ["共享单车大量堆积，占用盲道"],
    "09012": ["消防通道被私家车占用"],
    "01037": ["路灯不亮已有{d}天，夜间出行不便", "路灯白天常亮，浪费电能"],
    "01076": ["电梯故障停运，老人上下楼困难"],
    "01046": ["户外健身器材损坏，存在安全隐患"],
    "02010": ["交通标线模糊不清"],
    "02014": ["交通信号灯不亮"],
    "02038": ["楼号牌脱落，外来人员找不到路"],
    "03001": ["公共厕所冲水设备损坏，异味较大"],
    "03005": ["垃圾箱破损，盖子缺失"],
    "04002": ["行道树枝条过低，遮挡路灯和行人视线", "行道树倒伏，压在人行道上"],
    "04013": ["绿地被踩踏出裸土，部分苗木枯死"],
    "10001": ["道路结冰，已有行人滑倒"],
    "11001": ["住户与楼上邻居因漏水问题发生纠纷", "两户居民因楼道堆物发生争执"],
    "11002": ["一户家庭因赡养老人问题发生矛盾"],
    "11003": ["业主与物业因停车收费问题发生纠纷", "业主反映物业服务不到位，拒交物业费，双方争执"],
    "11004": ["务工人员反映与用工单位发生劳动争议"],
    "11005": ["租客与房东因押金退还问题发生纠纷"],
    "11007": ["居民反映在附近商铺购物遇到消费纠纷"],
    "12003": ["有出租房屋未办理登记，租住人员流动频繁"],
    "12004": ["一套住房内隔出多间群租，住了十余人"],
    "12006": ["有老人接到疑似诈骗电话，需上门提醒"],
    "13001": ["楼道和消防通道堆放杂物，堵塞通行"],
    "13002": ["楼道内有电动自行车飞线充电", "电动自行车在楼道内停放充电，存在火灾隐患"],
    "13003": ["居民闻到燃气异味，疑似燃气泄漏"],
    "13004": ["外墙瓷砖松动，有坠落危险", "阳台花盆摆放在外沿，存在高空坠物隐患"],
    "13005": ["老旧房屋墙体出现裂缝"],
    "14001": ["独居老人行动不便，申请助餐送餐服务"],
    "14003": ["小区停车位紧张，居民晚上停车难"],
    "14004": ["{k}名装修工人反映被拖欠工资"],
    "14005": ["困难家庭咨询申请低保及临时救助"],
    "14007": ["高龄独居老人需要居家养老上门服务"],
    "14008": ["自来水管漏水，家中停水", "楼道灯和电表箱故障，家中停电", "冬季暖气不热"],
    "14009": ["物业对公共区域保洁不到位，居民意见较大"],
    "14010": ["有住户饲养的犬只夜间吠叫，影响邻居休息", "遛狗不牵绳，居民担心安全"],
    "14011": ["行动不便的老人需要代办社保卡业务"],
    "15001": ["居民咨询医保缴费政策", "居民咨询老旧小区加装电梯政策"],
    "15002": ["居民建议在小区增设非机动车充电桩"],
}
CLASS_TEMPLATES = {
    "06": "存在{name}问题",
    "08": "存在{name}问题",
    "11": "住户反映{name}",
    "12": "发现{name}",
    "13": "存在{name}",
    "14": "居民反映{name}方面的困难",
    "15": "居民就{name}留言",
}
TAILS = {
    "matter": ["请尽快处理", "存在安全隐患", "影响居民出行", "居民反映强烈", "影响市容环境"],
    "request": ["希望社区帮忙解决", "请相关部门协调", "盼尽快答复"],
}
RESULTS = {
    "01": ["已通知养护单位维修，现已恢复正常", "已现场设置警示并完成更换"],
    "02": ["已安排维修，设施恢复正常"],
    "03": ["已维修清理完毕"],
    "04": ["已修剪补种，现场恢复"],
    "05": ["已维修"],
    "06": ["已清理完毕，现场整洁", "已责令整改，现场已恢复"],
    "07": ["已清除小广告并加强巡查"],
    "08": ["已责令施工单位整改，现场已规范"],
    "09": ["已劝离并对经营者宣传教育", "已规范停放，现场恢复通行"],
    "10": ["已处置完毕"],
    "11": ["经调解双方达成一致", "已组织调解，双方签订调解协议"],
    "12": ["已上门核查并登记", "已核实处置，纳入日常管控"],
    "13": ["已督促整改，隐患已消除"],
    "14": ["已联系相关单位办理，问题已解决", "已上门服务，居民表示认可"],
    "15": ["已电话答复", "已书面答复反映人"],
}
REJECT_NOTES = ["不属于受理范围，已向反映人解释", "经核实情况不属实", "属于司法程序中的事项，已引导依法解决"]
RETURN_NOTE = "经核实不属于本部门职责，建议转{department}办理"
REWORK_NOTES = ["现场复核仍未整改到位", "问题出现反弹，需重新处理", "处置不彻底，请继续跟进"]
SUSPEND_NOTES = ["涉及历史遗留问题，需纳入专项整治统一解决", "需等待老旧小区改造工程实施"]
RESUME_NOTES = ["", "专项整治已启动，恢复办理", "改造工程已开工，恢复办理"]
EXTENSION_NOTES = ["需协调多个部门，申请延期", "需等待配件到货", "涉及多户居民，需要更多时间协调"]
DENY_NOTES = ["时限充足，请按时办结"]
URGE_NOTES = ["请加快办理进度，尽快答复群众", "已超时，请抓紧处理"]
SUPERVISE_NOTES = ["群众反映强烈，列入督办", "多次反映的问题，纳入重点督办"]
MERGE_NOTE = "与已受理事件重复，合并处理"
RATING_COMMENTS = {
    Case.Rating.SATISFIED: [
        "",
        "处理很及时，点赞！",
        "满意，感谢网格员",
        "问题解决了，谢谢",
        "效率很高",
        "服务态度好",
    ],
    Case.Rating.BASICALLY: ["", "基本解决，希望加强巡查", "处理稍慢", "还可以，希望别再反复"],
    Case.Rating.UNSATISFIED: ["问题又出现了", "处理不彻底", "等了太久"],
}

# --- mixes ---------------------------------------------------------------------------------

CLASS_WEIGHTS = {
    C.WORKER: {
        "06": 30,
        "09": 20,
        "01": 12,
        "07": 6,
        "08": 4,
        "02": 4,
        "03": 4,
        "04": 3,
        "05": 0.5,
        "10": 0.5,
        "11": 3,
        "12": 3,
        "13": 6,
        "14": 3,
        "15": 0.5,
    },
    C.RESIDENT: {
        "14": 32,
        "11": 15,
        "06": 15,
        "15": 8,
        "09": 8,
        "13": 6,
        "01": 8,
        "12": 2,
        "08": 3,
        "04": 2,
        "03": 1,
    },
    C.HOTLINE: {
        "14": 24,
        "15": 12,
        "11": 12,
        "06": 15,
        "09": 8,
        "01": 10,
        "08": 6,
        "13": 6,
        "12": 3,
        "02": 3,
        "10": 1,
    },
    C.SELF_RESOLVED: {"06": 30, "09": 20, "07": 12, "11": 15, "14": 15, "13": 8},
}
LEAF_WEIGHTS = {
    "06010": 12,
    "06036": 10,
    "06012": 6,
    "06042": 8,
    "06041": 5,
    "06011": 4,
    "06007": 4,
    "06028": 6,
    "06027": 3,
    "06013": 4,
    "06001": 3,
    "06034": 3,
    "06035": 3,
    "06017": 3,
    "06029": 2,
    "09006": 10,
    "09005": 8,
    "09009": 10,
    "09010": 10,
    "09011": 6,
    "09012": 5,
    "09001": 4,
    "07001": 12,
    "07003": 3,
    "08001": 5,
    "08004": 5,
    "08002": 3,
    "01037": 10,
    "01001": 3,
    "01002": 3,
    "01003": 3,
    "01004": 3,
    "01076": 3,
    "01046": 3,
    "01028": 2,
    "02010": 3,
    "02014": 3,
    "02017": 3,
    "02038": 2,
    "03005": 6,
    "03001": 4,
    "04002": 5,
    "04013": 4,
    "11001": 10,
    "11003": 8,
    "11005": 4,
    "11002": 4,
    "11004": 3,
    "11007": 3,
    "12003": 6,
    "12004": 4,
    "12001": 2,
    "12006": 3,
    "13001": 6,
    "13002": 10,
    "13003": 2,
    "13004": 3,
    "13005": 3,
    "13007": 2,
    "13008": 2,
    "14001": 4,
    "14003": 6,
    "14004": 3,
    "14005": 3,
    "14007": 5,
    "14008": 10,
    "14009": 10,
    "14010": 5,
    "14011": 4,
    "14012": 3,
    "14002": 2,
    "14006": 2,
    "15001": 6,
    "15002": 3,
    "15003": 3,
    "10001": 20,
    "10002": 1,
}
SEASONAL = {"10001": {12, 1, 2}, "06029": {5, 6, 7, 8, 9}, "06021": {5, 6, 7, 8}, "01067": {6, 7, 8}}
MONTH_FACTOR = {
    1: 0.9,
    2: 0.85,
    3: 0.95,
    4: 1.0,
    5: 1.05,
    6: 1.1,
    7: 1.15,
    8: 1.15,
    9: 1.05,
    10: 1.0,
    11: 0.95,
    12: 0.9,
}
# Channel weights (worker, resident, hotline, solved on the spot) by kind of day.
CHANNELS = [C.WORKER, C.RESIDENT, C.HOTLINE, C.SELF_RESOLVED]
CHANNEL_WEIGHTS = {"weekday": (60, 20, 10, 8), "wednesday": (54, 16, 8, 24), "rest": (50, 27, 15, 7)}
HOURS = {
    C.WORKER: [0, 0, 0, 0, 0, 0, 0.2, 1, 4, 8, 8, 7, 2, 3, 7, 7, 5, 3, 1, 0.5, 0.3, 0.1, 0, 0],
    C.RESIDENT: [0.2, 0.1, 0, 0, 0, 0.1, 0.5, 2, 4, 5, 5, 4, 3, 3, 4, 4, 4, 4, 5, 6, 5, 3, 1, 0.5],
    C.HOTLINE: [0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 0.8, 2, 5, 7, 7, 6, 3, 4, 6, 6, 5, 4, 3, 3, 2.5, 2, 1.2, 0.8],
}
HOURS[C.SELF_RESOLVED] = HOURS[C.WORKER]

# Fates, as probabilities per case that reaches the step.
P_REJECT = 0.0225
P_SUSPEND = 0.011  # half of them are resumed later
P_RETURN = 0.09
P_EXTENSION = 0.036  # 85% of requests granted
P_REWORK = 0.055
P_LATE = 0.10
P_LATE_VERIFY = 0.06
P_SUPERVISE = 0.01
P_URGE_LATE = 0.6
P_RATED = 0.7
P_DUPLICATE = 0.0115  # a few find no open case to merge into and stay ordinary
# The demo accounts people log in with report more, in a busier grid, so their pages are full.
DEMO_REPORTERS = {"worker": 4, "gridleader": 3, "buildinghead": 3, "resident": 4}
DEMO_ACTIVITY = 2.0
RATINGS = ([Case.Rating.SATISFIED, Case.Rating.BASICALLY, Case.Rating.UNSATISFIED], [85, 12, 3])


def expected_cases(profile: Profile, days: int = 365, per_grid: float = CASES_PER_GRID_YEAR) -> int:
    """About how many cases build_history makes: `per_grid` per level-3 grid per year."""
    return round(profile.counts[2] * per_grid * days / 365)


# --- office time ---------------------------------------------------------------------------


class OfficeClock:
    """Office time on working days as one running count of seconds, for drawing when a
    step happens: the same periods and calendar as worktime.services."""

    def __init__(self, first: date, last: date):
        zone = timezone.get_default_timezone()
        periods = worktime_cache.snapshot().periods
        self.begins, self.ends, self.cum, self.cum_end = [], [], [], []
        total, day = 0.0, first
        while day <= last:
            if is_workday(day)[0]:
                for start, end in periods:
                    begin = datetime.combine(day, start, zone).timestamp()
                    close = datetime.combine(day, end, zone).timestamp()
                    self.begins.append(begin)
                    self.ends.append(close)
                    self.cum.append(total)
                    total += close - begin
                    self.cum_end.append(total)
            day += ONE_DAY
        self.zone = zone

    def office(self, moment: datetime) -> float:
        ts = moment.timestamp()
        i = bisect_right(self.begins, ts) - 1
        if i < 0:
            return 0.0
        return self.cum[i] + min(ts, self.ends[i]) - self.begins[i]

    def moment(self, office: float) -> datetime:
        i = min(bisect_left(self.cum_end, office), len(self.begins) - 1)
        return datetime.fromtimestamp(self.begins[i] + office - self.cum[i], self.zone)

    def at_share(self, start: datetime, deadline: datetime, unit: str, share: float) -> datetime:
        """The moment when `share` of the limit from start to deadline is used."""
        if unit in WORKING_UNITS:
            a, b = self.office(start), self.office(deadline)
            return self.moment(a + share * (b - a))
        return start + (deadline - start) * share

    def share_at(self, start: datetime, deadline: datetime, unit: str, moment: datetime) -> float:
        if unit in WORKING_UNITS:
            a, b = self.office(start), self.office(deadline)
            return (self.office(moment) - a) / (b - a) if b > a else 1.0
        total = (deadline - start).total_seconds()
        return (moment - start).total_seconds() / total if total > 0 else 1.0


# --- who is where --------------------------------------------------------------------------


class World:
    """The district's grids, staff, departments and routes, loaded once."""

    def __init__(self):
        self.lengths = code_lengths()
        self._lineage: dict[str, list[str]] = {}
        self.grids = {}
        for pk, code, name, level, kind, households in Grid.objects.values_list(
            "id", "code", "name", "level", "kind", "households_estimate"
        ):
            self.grids[code] = (pk, code, name, level, kind, households)
        self.code_of = {g[0]: code for code, g in self.grids.items()}
        basic_parents = {
            self.cut(code, g[3] - 1) for code, g in self.grids.items() if g[3] > 1 and g[4] == Grid.Kind.BASIC
        }
        self.leaves = sorted(
            code for code, g in self.grids.items() if g[4] == Grid.Kind.BASIC and code not in basic_parents
        )
        self.by_role: dict[str, dict[str | None, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.handlers: dict[int, list[int]] = defaultdict(list)
        usernames = {}
        for user, role, grid, department, username in (
            Assignment.objects.filter(is_active=True, user__is_active=True)
            .values_list("user_id", "role", "grid__code", "department_id", "user__username")
            .order_by("user_id", "id")
        ):
            self.by_role[role][grid].append(user)
            usernames[user] = username
            if role == Role.HANDLER and department:
                self.handlers[department].append(user)
        self.usernames = usernames
        self.superusers = list(
            User.objects.filter(is_superuser=True, is_active=True).order_by("id").values_list("id", flat=True)
        )
        self.departments = {d.pk: d for d in Department.objects.filter(is_active=True).order_by("id")}
        self.routes = {}
        for category, area, department in (
            CategoryRoute.objects.filter(department__is_active=True)
            .order_by("id")
            .values_list("category_id", "area__code", "department_id")
        ):
            self.routes.setdefault((category, area), department)
        self._owner, self._department, self._near = {}, {}, {}

    def cut(self, code: str, level: int) -> str:
        """The code of the grid's ancestor at this level (the code itself when deeper)."""
        return code[: self.lengths[level]]

    def lineage(self, code: str) -> list[str]:
        """The grid's code and its ancestors', deepest first."""
        if code not in self._lineage:
            level = self.grids[code][3]
            self._lineage[code] = [code, *(self.cut(code, n) for n in range(level - 1, 0, -1))]
        return self._lineage[code]

    def owner(self, code: str) -> str | None:
        """As workflow.command_grid_for: the nearest grid at or above with a dispatcher."""
        if code not in self._owner:
            staffed = self.by_role[Role.DISPATCHER]
            self._owner[code] = next((c for c in self.lineage(code) if staffed.get(c)), None)
        return self._owner[code]

    def people(self, role: str, code: str | None, *, covering: bool = True) -> list[int]:
        """Holders of the role on this grid, or (covering) on it and the grids above it."""
        holders = self.by_role[role]
        if code is None or not covering:
            return holders.get(code, [])
        return [user for c in self.lineage(code) for user in holders.get(c, [])]

    def dispatchers(self, owner: str | None) -> list[int]:
        found = self.people(Role.DISPATCHER, owner) if owner else []
        return found or self.by_role[Role.DISPATCHER].get(None, []) or self.superusers

    def department(self, code: str, category: Category) -> Department:
        """As routing.propose_department (the most specific area first, then the most
        specific category); without a rule, a department serving the area."""
        key = (code, category.pk)
        if key not in self._department:
            found = None
            for area in [*self.lineage(code), None]:
                for node in (category, category.parent):
                    if node is not None and (node.pk, area) in self.routes:
                        found = self.routes[(node.pk, area)]
                        break
                if found:
                    break
            if found is None:
                serving = self.serving(code)
                if not serving:
                    raise RuntimeError("No active department to handle cases: build the departments first.")
                found = serving[0].pk
            self._department[key] = self.departments[found]
        return self._department[key]

    def serving(self, code: str) -> list[Department]:
        """Departments whose area contains the grid, then the district-wide ones."""
        if code not in self._near:
            lineage = set(self.lineage(code))
            mine = [
                d for d in self.departments.values() if d.area_id and self.code_of.get(d.area_id) in lineage
            ]
            self._near[code] = mine + [d for d in self.departments.values() if not d.area_id]
        return self._near[code]


# --- residents -----------------------------------------------------------------------------


def _make_residents(world: World, fake: Faker, rng: random.Random, count: int) -> None:
    """Resident accounts spread over the level-3 grids, one password hash for all."""
    homes = sorted(code for code, g in world.grids.items() if g[3] == 3) or world.leaves
    rng.shuffle(homes)
    taken = set(User.objects.filter(username__startswith="r").values_list("username", flat=True))
    password = make_password(DEMO_PASSWORD)
    users, seq = [], 0
    for index in range(count):
        seq += 1
        while f"r{seq:05d}" in taken:
            seq += 1
        users.append(
            (
                User(
                    username=f"r{seq:05d}",
                    name=fake.name(),
                    password=password,
                    phone=normalize_phone(fake.phone_number()),
                ),
                homes[index % len(homes)],
            )
        )
    User.objects.bulk_create([u for u, _home in users], batch_size=500)
    ids = dict(
        User.objects.filter(username__in=[u.username for u, _home in users]).values_list("username", "id")
    )
    Assignment.objects.bulk_create(
        [
            Assignment(user_id=ids[u.username], role=Role.RESIDENT, grid_id=world.grids[home][0])
            for u, home in users
        ],
        batch_size=1000,
    )
    for u, home in users:
        world.by_role[Role.RESIDENT][home].append(ids[u.username])
        world.usernames[ids[u.username]] = u.username


# --- one case's life -----------------------------------------------------------------------


class _Stop(Exception):
    """The next step would happen after `now`: the case stays where it is."""


@dataclass
class Seed:
    at: datetime
    channel: str
    leaf: str  # the micro-grid the point was drawn in
    duplicate: bool


class Life:
    """One generated case: the Case row and its log, stepped like workflow.act."""

    __slots__ = ("case", "logs", "last", "end", "level3", "master", "gen")

    def __init__(self, gen: "Generator", case: Case, level3: str):
        self.gen, self.case, self.logs, self.last = gen, case, [], case.reported_at
        self.end: datetime | None = None  # when it reached a final state
        self.level3 = level3
        self.master: Life | None = None

    # the clock, as workflow._advance_clock / start_stage
    def _advance_clock(self, action: str, from_state: str, at: datetime) -> None:
        case = self.case
        if action in workflow.RESTARTS_HANDLING or workflow.STAGE_OF_STATE.get(
            case.state
        ) != workflow.STAGE_OF_STATE.get(from_state):
            self.gen.start_stage(case, at)
        if action in workflow.RESTARTS_HANDLING:
            case.handle_deadline = case.deadline

    def when(self, share: float) -> datetime:
        case = self.case
        return self.gen.clock.at_share(case.stage_started_at, case.deadline, case.deadline_unit, share)

    def share(self, moment: datetime) -> float:
        case = self.case
        return self.gen.clock.share_at(case.stage_started_at, case.deadline, case.deadline_unit, moment)

    def step(
        self,
        action: str,
        actor: int | None,
        *,
        share: float | None = None,
        at: datetime | None = None,
        note: str = "",
        department: Department | None = None,
        until: datetime | None = None,
        rating: str = "",
    ) -> datetime:
        rng = self.gen.rng
        moment = at if at is not None else self.when(share)
        moment = max(moment, self.last + timedelta(seconds=rng.uniform(30, 240)))
        if moment > self.gen.now:
            raise _Stop
        case, from_state = self.case, self.case.state
        if action == "dispatch":
            case.state, case.department, case.dispatched_at = S.DISPATCHED, department, moment
            data = {"department_id": department.pk, "department": department.name}
        elif action == "merge":
            case.state = S.MERGED
            data = {}  # master_id and number once the master is written
        else:
            params = workflow.Params(note=note, until=until, rating=rating)
            data = workflow.HANDLERS[action](case, None, params, moment) or {}
            if action == "approve_extension":
                # act() reloads the case, so the stored request comes back in UTC.
                data = {"until": case.handle_deadline.astimezone(UTC).isoformat()}
        self._advance_clock(action, from_state, moment)
        self.logs.append((action, from_state, case.state, actor, moment, note.strip(), data))
        self.last = moment
        if case.state in Case.FINAL_STATES and action != "rate":
            self.end = moment
        return moment


class Generator:
    def __init__(self, profile: Profile, *, days: int, now: datetime, seed: int, per_grid: float):
        self.profile, self.days, self.now = profile, days, now
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.zone = timezone.get_default_timezone()
        local_now = timezone.localtime(now)
        self.first_day = (local_now - timedelta(days=days)).date()
        self.clock = OfficeClock(self.first_day - timedelta(days=3), local_now.date() + timedelta(days=240))
        self.total = expected_cases(profile, days, per_grid)
        self.roads = list(dict.fromkeys(self.fake.street_name() for _ in range(150)))
        self._deadlines: dict = {}
        self._last_close = max(end for _start, end in worktime_cache.snapshot().periods)
        self.shapes: dict = {}
        self._residents: dict[str, list[int]] = {}

    # deadlines: add_time, cached where the answer depends only on the day
    def start_stage(self, case: Case, at: datetime) -> None:
        """workflow.start_stage, with working-day deadlines cached per (day, amount)."""
        stage = workflow.STAGE_OF_STATE.get(case.state)
        if stage is None or case.category.limit(stage)[1] != TimeUnit.WORKING_DAYS:
            workflow.start_stage(case, at)
            return
        # add_time counts working days from the day the matter reaches the office, so every
        # start on one day before the close of office has the same deadline.
        amount = case.category.limit(stage)[0]
        local = timezone.localtime(at, self.zone)
        rolled = local.time() >= self._last_close
        key = (local.date(), rolled, amount)
        if key not in self._deadlines:
            day = local.date() + ONE_DAY if rolled else local.date()
            deadline = workflow.add_time(
                datetime.combine(day, time(0), self.zone), amount, TimeUnit.WORKING_DAYS
            )
            provisional = deadline.provisional or (rolled and is_workday(local.date())[1])
            self._deadlines[key] = (deadline.at, provisional)
        case.light, case.is_escalated_overdue = Case.Light.GREEN, False
        case.stage_started_at = at
        case.deadline, case.deadline_unit = self._deadlines[key][0], TimeUnit.WORKING_DAYS
        case.deadline_provisional = self._deadlines[key][1]

    # -- seeds: when, which channel, where ------------------------------------------------
    def seeds(self, world: World) -> list[Seed]:
        names = dict(CalendarDay.objects.filter(date__gte=self.first_day).values_list("date", "name"))
        days = [self.first_day + timedelta(days=n) for n in range(self.days + 1)]
        weights = np.array([self._day_weight(d, names.get(d, "")) for d in days])
        counts = self.np.poisson(weights / weights.sum() * self.total)
        leaf_weights = self._leaf_weights(world)
        hours = {channel: list(np.cumsum(per_hour)) for channel, per_hour in HOURS.items()}
        seeds = []
        for day, count in zip(days, counts, strict=True):
            kind = "rest" if not is_workday(day)[0] else "wednesday" if day.weekday() == 2 else "weekday"
            channels = self.rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS[kind], k=int(count))
            leaves = self.rng.choices(world.leaves, cum_weights=leaf_weights, k=int(count))
            for channel, leaf in zip(channels, leaves, strict=True):
                hour = self.rng.choices(range(24), cum_weights=hours[channel])[0]
                at = datetime.combine(day, time(hour), self.zone) + timedelta(
                    seconds=self.rng.uniform(0, 3600)
                )
                if at < self.now:
                    seeds.append(Seed(at, channel, leaf, self.rng.random() < P_DUPLICATE))
        seeds.sort(key=lambda s: s.at)
        return seeds

    def _day_weight(self, day: date, name: str) -> float:
        working = is_workday(day)[0]
        if working:
            weight = 0.9 if day.weekday() >= 5 else 1.0
        elif name == "春节":
            weight = 0.25
        elif name == "国庆节":
            weight = 0.35
        elif name:
            weight = 0.45
        else:
            weight = 0.55 if day.weekday() == 5 else 0.45
        return weight * MONTH_FACTOR[day.month]

    def _leaf_weights(self, world: World) -> list[float]:
        """Cumulative weights of micro-grids: households × an activity factor per grid."""
        # The grid of the demo accounts is a busy one, so their pages are full.
        activity: dict[str, float] = {
            code: DEMO_ACTIVITY
            for role in (Role.GRID_WORKER, Role.GRID_LEADER)
            for code, users in world.by_role[role].items()
            if code and any(world.usernames.get(u) in DEMO_REPORTERS for u in users)
        }
        total, cumulative = 0.0, []
        for code in world.leaves:
            grid3 = world.cut(code, 3)
            if grid3 not in activity:
                activity[grid3] = float(self.np.lognormal(0, 0.35))
            total += max(world.grids[code][5], 1) * activity[grid3]
            cumulative.append(total)
        return cumulative

    def points(self, world: World, leaves: list[str]) -> list[tuple[float, float, str]]:
        """A random point in each given micro-grid, and the grid the locator puts it in."""
        shapes = {
            code: shapely.geometry.shape(boundary)
            for code, boundary in Grid.objects.filter(code__in=world.leaves).values_list("code", "boundary")
        }
        self.shapes = shapes
        wanted = Counter(leaves)
        drawn: dict[str, list[tuple[float, float]]] = {}
        for code, count in wanted.items():
            shape = shapes[code]
            shapely.prepare(shape)
            minx, miny, maxx, maxy = shape.bounds
            got: list[tuple[float, float]] = []
            while len(got) < count:
                n = max(16, 2 * (count - len(got)))
                xs, ys = self.np.uniform(minx, maxx, n), self.np.uniform(miny, maxy, n)
                inside = shapely.contains_xy(shape, xs, ys)
                got.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
            drawn[code] = got[:count]
        order = [drawn[code].pop() for code in leaves]
        refs = get_index().locate_many([p[0] for p in order], [p[1] for p in order])
        return [
            (lon, lat, ref.code if ref else leaf)
            for (lon, lat), ref, leaf in zip(order, refs, leaves, strict=True)
        ]

    # -- categories and texts ---------------------------------------------------------------
    def prepare_categories(self) -> None:
        categories = _case_categories()
        parents = {c.parent_id for c in Category.objects.filter(parent__isnull=False)}
        self.leaf_categories = [
            c for c in categories if c.pk not in parents and c.parent_id and c.parent.code in CLASS_DEPARTMENT
        ]
        self._category_weights: dict = {}

    def category(self, channel: str, day: date) -> Category:
        """A leaf category: each class gets its CLASS_WEIGHTS share for the channel, split
        over its leaves by LEAF_WEIGHTS (out of season: none)."""
        wednesday = day.weekday() == 2
        key = (channel, day.month, wednesday)
        if key not in self._category_weights:
            classes = dict(CLASS_WEIGHTS[channel])
            if channel == C.SELF_RESOLVED and wednesday and "14" in classes:
                classes["14"] *= 3  # Grid Wednesday: residents' requests solved at the door
            leaf_weights = []
            for c in self.leaf_categories:
                weight = LEAF_WEIGHTS.get(c.code, 1)
                if c.code in SEASONAL and day.month not in SEASONAL[c.code]:
                    weight = 0
                if channel == C.SELF_RESOLVED and c.urgency == Urgency.URGENT:
                    weight *= 0.2
                leaf_weights.append(weight)
            per_class: dict[int, float] = defaultdict(float)
            for c, weight in zip(self.leaf_categories, leaf_weights, strict=True):
                per_class[c.parent_id] += weight
            cumulative, total = [], 0.0
            for c, weight in zip(self.leaf_categories, leaf_weights, strict=True):
                if weight:
                    total += classes.get(c.code[:2], 0) * weight / per_class[c.parent_id]
                cumulative.append(total)
            self._category_weights[key] = cumulative
        return self.rng.choices(self.leaf_categories, cum_weights=self._category_weights[key])[0]

    def place(self, category: Category, community: str) -> tuple[str, str]:
        """Where, as said in the description, and the stored address."""
        rng, cls = self.rng, category.code[:2]
        values = {
            "n": rng.randint(1, 36),
            "m": rng.randint(1, 36),
            "u": rng.randint(1, 4),
            "k": rng.randint(2, 30),
            "road": rng.choice(self.roads),
            "road2": rng.choice(self.roads),
        }
        on_street = cls in ON_STREET or (cls not in AT_HOME and rng.random() < 0.4)
        where = rng.choice(STREETS if on_street else HOMES).format(**values)
        if on_street:
            return where, f"{values['road']}{values['k']}号附近"
        return where, f"{community}{where}"

    def describe(self, category: Category, where: str, channel: str) -> str:
        rng, cls = self.rng, category.code[:2]
        values = {"d": rng.randint(2, 5), "k": rng.randint(2, 12), "name": category.name}
        specific = category.code in PHRASES
        if specific:
            phrase = rng.choice(PHRASES[category.code]).format(**values)
        else:
            phrase = CLASS_TEMPLATES.get(cls, "{name}").format(**values)
            kind = "request" if category.kind == Category.Kind.REQUEST else "matter"
            phrase += "，" + rng.choice(TAILS[kind])
        text = f"{where}{phrase}"
        if channel == C.HOTLINE:
            text = f"来电人反映：{text}。"
        elif channel == C.RESIDENT and specific:
            text = f"{text}，{rng.choice(TAILS['request'])}。"
        elif channel == C.SELF_RESOLVED:
            text = f"{text}，已现场处置。"
        else:
            text = f"{text}。"
        return text

    def result(self, category: Category) -> str:
        return self.rng.choice(RESULTS.get(category.code[:2], ["已处置完毕"]))


# --- the timeline --------------------------------------------------------------------------


def _on_time_share(rng: random.Random, current: float) -> float:
    low = min(current + 0.03, 0.9)
    return rng.uniform(low, 0.97)


def _late_share(rng: random.Random, current: float) -> float:
    return rng.uniform(max(current, 1.0) + 0.02, LATE)


def _limit_share(rng: random.Random) -> float:
    """When a dispatcher acts within a stage: mostly in time, some late."""
    return rng.uniform(0.05, 0.9) if rng.random() > 0.07 else rng.uniform(0.9, 1.3)


class Timeline:
    """What happens to one case, decided step by step with the generator's dice."""

    def __init__(self, gen: Generator, world: World):
        self.gen, self.world, self.rng = gen, world, gen.rng

    def pick(self, users: list[int]) -> int | None:
        return self.rng.choice(users) if users else None

    def handler(self, department: Department) -> int | None:
        return self.pick(self.world.handlers.get(department.pk, []))

    def verifier(self, life: Life) -> int | None:
        case = life.case
        if case.channel in (C.WORKER, C.SELF_RESOLVED):
            return case.reporter_id
        code = self.world.code_of[case.grid_id]
        found = self.world.people(Role.GRID_WORKER, code) + self.world.people(Role.GRID_LEADER, code)
        return self.pick(found) or self.dispatcher(life)

    def dispatcher(self, life: Life) -> int | None:
        owner = self.world.code_of.get(life.case.owner_grid_id)
        return self.pick(self.world.dispatchers(owner))

    def leader(self, life: Life) -> int | None:
        return self.pick(self.world.people(Role.LEADER, self.world.code_of[life.case.grid_id]))

    def run(self, life: Life) -> None:
        try:
            if life.master is not None:
                self._merge(life)
            elif life.case.channel != C.SELF_RESOLVED:
                self._ordinary(life)
        except _Stop:
            pass

    def _merge(self, life: Life) -> None:
        """Merge into the master while the master is still open; else an ordinary case."""
        rng, master_end = self.rng, life.master.end
        dispatcher = self.dispatcher(life)
        share = rng.uniform(0.05, 0.9)
        if master_end is not None and life.when(share) >= master_end - timedelta(minutes=5):
            life.master = None
            self._ordinary(life)
            return
        far = master_end is None or master_end > life.case.reported_at + timedelta(days=5)
        if far and rng.random() < 0.2:
            life.step("register", dispatcher, share=share)
            share = rng.uniform(0.05, 0.9)
        life.step("merge", dispatcher, share=share, note=MERGE_NOTE)

    def _ordinary(self, life: Life) -> None:
        rng, case = self.rng, life.case
        dispatcher = self.dispatcher(life)
        if rng.random() < P_REJECT:
            life.step("reject", dispatcher, share=_limit_share(rng), note=rng.choice(REJECT_NOTES))
            return
        life.step("register", dispatcher, share=_limit_share(rng))
        suspend = rng.random() < P_SUSPEND
        suspend_accepted = suspend and rng.random() < 0.3
        if suspend and not suspend_accepted:
            self._suspend(life, dispatcher, rng.uniform(0.1, 0.8))
        department = self.world.department(self.world.code_of[case.grid_id], case.category)
        life.step("dispatch", dispatcher, share=_limit_share(rng), department=department)
        if rng.random() < P_RETURN:
            serving = self.world.serving(self.world.code_of[case.grid_id])
            others = [d for d in serving if d.pk != department.pk]
            if others:
                alternative = rng.choice(others)
                life.step(
                    "return",
                    self.handler(department),
                    share=rng.uniform(0.02, 0.3),
                    note=RETURN_NOTE.format(department=alternative.name),
                )
                department = alternative
                life.step("dispatch", dispatcher, share=_limit_share(rng), department=department)
        handler = self.handler(department)
        life.step("accept", handler, share=rng.uniform(0.01, 0.2))
        if suspend_accepted:
            self._suspend(life, dispatcher, life.share(life.last) + rng.uniform(0.05, 0.3))
        reworked = False
        while True:
            self._handle(life, handler, dispatcher, first=not reworked)
            # verification: the clock of the verify stage runs from the result
            verifier = self.verifier(life)
            rework = not reworked and rng.random() < P_REWORK
            if rework and rng.random() < 0.8:
                life.step("rework", verifier, share=rng.uniform(0.05, 0.7), note=rng.choice(REWORK_NOTES))
                reworked = True
                continue
            # Verifiers are sometimes late; a handled case is never escalated for it.
            late_check = rng.random() < P_LATE_VERIFY
            verified = life.step(
                "verify", verifier, share=rng.uniform(1.0, 2.5) if late_check else rng.uniform(0.05, 0.8)
            )
            if rework:
                life.step(
                    "rework",
                    verifier,
                    share=life.share(verified) + rng.uniform(0.02, 0.2),
                    note=rng.choice(REWORK_NOTES),
                )
                reworked = True
                continue
            life.step("close", dispatcher, share=life.share(verified) + rng.uniform(0.02, 0.3))
            break
        if case.channel in (C.WORKER, C.RESIDENT) and rng.random() < P_RATED:
            rating = rng.choices(*RATINGS)[0]
            at = case.closed_at + timedelta(hours=min(rng.expovariate(1 / 8), 72))
            life.step(
                "rate", case.reporter_id, at=at, rating=rating, note=rng.choice(RATING_COMMENTS[rating])
            )

    def _suspend(self, life: Life, dispatcher: int | None, share: float) -> None:
        rng = self.rng
        life.step("suspend", dispatcher, share=min(share, LATE), note=rng.choice(SUSPEND_NOTES))
        if rng.random() < 0.5:
            raise _Stop  # parked for good (挂账)
        later = life.last + timedelta(days=rng.uniform(3, 60))
        clock = self.gen.clock
        life.step(
            "resume", dispatcher, at=clock.moment(clock.office(later) + 60), note=rng.choice(RESUME_NOTES)
        )

    def _handle(self, life: Life, handler: int | None, dispatcher: int | None, *, first: bool) -> None:
        rng, case = self.rng, life.case
        current = life.share(life.last)
        if first and rng.random() < P_SUPERVISE:
            leader = self.leader(life)
            if leader:
                life.step(
                    "supervise",
                    leader,
                    share=current + rng.uniform(0.02, 0.3),
                    note=rng.choice(SUPERVISE_NOTES),
                )
                current = life.share(life.last)
        # An extension is asked for before the handling deadline (after a resume the stage
        # clock is fresh but the handling deadline is not: no extension then).
        if first and current < 0.6 and case.deadline == case.handle_deadline and rng.random() < P_EXTENSION:
            asked = life.step(
                "request_extension",
                handler,
                share=rng.uniform(max(current, 0.4) + 0.05, 0.85),
                note=rng.choice(EXTENSION_NOTES),
                until=self._extension_until(case),
            )
            if rng.random() < 0.85:
                life.step("approve_extension", dispatcher, share=life.share(asked) + rng.uniform(0.01, 0.08))
            else:
                life.step(
                    "deny_extension",
                    dispatcher,
                    share=life.share(asked) + rng.uniform(0.01, 0.08),
                    note=rng.choice(DENY_NOTES),
                )
            current = life.share(life.last)
        late = rng.random() < (P_LATE if first else P_LATE / 2)
        share = _late_share(rng, current) if late else _on_time_share(rng, current)
        if share > 1.02 and rng.random() < P_URGE_LATE:
            leader = self.leader(life)
            if leader:
                life.step("urge", leader, share=rng.uniform(1.0, share - 0.01), note=rng.choice(URGE_NOTES))
        life.step(
            "report_result",
            handler,
            share=max(share, life.share(life.last) + 0.005),
            note=self.gen.result(case.category),
        )

    def _extension_until(self, case: Case) -> datetime:
        amount, unit = case.category.limit("handle")
        extra = max(1, round(amount * self.rng.uniform(0.4, 1.0)))
        return workflow.add_time(case.handle_deadline, extra, unit).at


# --- building ------------------------------------------------------------------------------


def _open_light(case: Case, now: datetime) -> str:
    if case.deadline is None or case.stage_started_at is None:
        return Case.Light.GREEN
    return light_for(elapsed_share(case.stage_started_at, case.deadline, now, case.deadline_unit))


def _pick_master(recent: deque, seed: Seed) -> "Life | None":
    margin = timedelta(hours=3)
    candidates = [
        life
        for life in recent
        if life.case.reported_at < seed.at - timedelta(minutes=5)
        and life.case.channel != C.SELF_RESOLVED
        and life.master is None
        and life.case.state != S.REJECTED
        and (life.end is None or life.end > seed.at + margin)
    ]
    return candidates[-1] if candidates else None


@transaction.atomic
def build_history(
    profile: Profile,
    *,
    days: int = 365,
    now: datetime | None = None,
    seed: int = 2026,
    progress=None,
    per_grid: float = CASES_PER_GRID_YEAR,
    residents: int = RESIDENTS,
) -> dict:
    """Generate `days` of cases up to `now` (aware; default: now) for the district's grids and
    people, about `per_grid` per level-3 grid of the profile per year, after adding
    `residents` resident accounts. All or nothing; refuses a district that has cases.
    `progress(n)` is called as cases are written, in units of expected_cases(). Returns the
    number of cases in each state."""
    now = now or timezone.now()
    if Case.objects.exists():
        raise RuntimeError("The district already has cases; reset the demo to generate a history.")
    world = World()
    if not world.leaves:
        raise RuntimeError("The district has no grids: build the demo district first.")
    gen = Generator(profile, days=days, now=now, seed=seed, per_grid=per_grid)
    gen.prepare_categories()
    if residents:
        _make_residents(world, gen.fake, gen.rng, residents)
    workers = {role: world.by_role[role] for role in WORKER_ROLES}
    if not any(workers.values()):
        raise RuntimeError("The district has no grid workers: build the staff first.")
    seeds = gen.seeds(world)
    # The grids may have been written in this transaction (the demo command), whose commit
    # would tell this process's locator; make it compare versions now.
    locator.invalidate()
    located = gen.points(world, [s.leaf for s in seeds])
    timeline = Timeline(gen, world)
    recent: dict[str, deque] = defaultdict(lambda: deque(maxlen=40))
    counts: Counter = Counter()
    reported = 0
    for start in range(0, len(seeds), BATCH):
        chunk = []
        for seed_, (lon, lat, code) in zip(
            seeds[start : start + BATCH], located[start : start + BATCH], strict=True
        ):
            life = _begin(gen, world, seed_, lon, lat, code, recent)
            timeline.run(life)
            if life.case.state not in Case.FINAL_STATES:
                life.case.light = _open_light(life.case, now)
            recent[life.level3].append(life)
            chunk.append(life)
            counts[str(life.case.state)] += 1
        _write(chunk)
        if progress:
            # In units of expected_cases(), so a bar sized with it ends full.
            done = round((start + len(chunk)) / len(seeds) * gen.total)
            progress(done - reported)
            reported = done
    return dict(counts)


def _begin(gen: Generator, world: World, seed: Seed, lon: float, lat: float, code: str, recent: dict) -> Life:
    """The case as intake.submit creates it, with its first log entry."""
    level3 = world.cut(code, 3)
    master = _pick_master(recent[level3], seed) if seed.duplicate else None
    channel = seed.channel
    if master is not None:
        category, code = master.case.category, world.code_of[master.case.grid_id]
        level3 = world.cut(code, 3)
        lon, lat = _near(gen, master.case.lon, master.case.lat, code)
        channel = C.RESIDENT if channel == C.SELF_RESOLVED else channel
    else:
        category = gen.category(channel, timezone.localtime(seed.at, gen.zone).date())
    community = world.grids.get(world.cut(code, 2), (0, "", "社区"))[2]
    where, address = gen.place(category, community)
    owner = world.owner(code)
    case = _new(
        Case,
        channel=channel,
        category_id=category.pk,
        grid_id=world.grids[code][0],
        owner_grid_id=world.grids[owner][0] if owner else None,
        lat=lat,
        lon=lon,
        location_source=CRS.WGS84,
        address=address[:200],
        reported_at=seed.at,
        urgency=category.urgency,
        description=gen.describe(category, where, channel).strip(),
    )
    case.category = category
    case.reporter_id = _reporter(gen, world, channel, code, owner)
    if channel == C.HOTLINE:
        case.caller_name = gen.fake.name()[:50]
        case.caller_phone = normalize_phone(gen.fake.phone_number())
    action = "report"
    if channel == C.SELF_RESOLVED:
        case.state, case.handled_at, case.closed_at, case.handled_on_time = S.CLOSED, seed.at, seed.at, True
        case.result = case.description
        action = "self_resolved"
    gen.start_stage(case, seed.at)
    life = Life(gen, case, level3)
    life.logs.append((action, "", case.state, case.reporter_id, seed.at, "", {"channel": channel}))
    if case.state == S.CLOSED:
        life.end = seed.at
    life.master = master
    return life


def _near(gen: Generator, lon: float, lat: float, code: str) -> tuple[float, float]:
    """A point a few metres from the master's, in the same grid when it can be."""
    shape = gen.shapes.get(code)
    for _attempt in range(10):
        x, y = lon + gen.rng.uniform(-2e-4, 2e-4), lat + gen.rng.uniform(-2e-4, 2e-4)
        if shape is None or shapely.contains_xy(shape, x, y):
            ref = get_index().locate(x, y)
            if ref is not None and ref.code == code:
                return x, y
    return lon, lat


def _reporter(gen: Generator, world: World, channel: str, code: str, owner: str | None) -> int | None:
    rng = gen.rng
    if channel in (C.WORKER, C.SELF_RESOLVED):
        grid3 = world.cut(code, 3)
        found = world.people(Role.GRID_WORKER, grid3) + world.people(Role.GRID_LEADER, grid3)
        if rng.random() < 0.1 or not found:
            found = world.people(Role.BUILDING_HEAD, code) or found
        if not found:
            found = [u for role in WORKER_ROLES for users in world.by_role[role].values() for u in users]
        return rng.choices(found, weights=[_weight(world, u) for u in found])[0]
    if channel == C.HOTLINE:
        return rng.choice(world.dispatchers(owner))
    # residents: those living in the grid (the demo account more often), else nearby, else anyone
    for prefix in (world.cut(code, 3), world.cut(code, 2), world.cut(code, 1), ""):
        if prefix not in gen._residents:
            gen._residents[prefix] = [
                u
                for c, users in world.by_role[Role.RESIDENT].items()
                if c and c.startswith(prefix)
                for u in users
            ]
        found = gen._residents[prefix]
        if found:
            return rng.choices(found, weights=[_weight(world, u) for u in found])[0]
    return rng.choice(world.dispatchers(owner))


def _weight(world: World, user: int) -> int:
    return DEMO_REPORTERS.get(world.usernames.get(user, ""), 1)


def _write(chunk: list[Life]) -> None:
    """Cases and their logs through `core.bulk.insert_rows` (the year is 20,000 cases and
    140,000 log entries; bulk_create compiled every value through the ORM). The cases are
    numbered first, so a merged case points at its master (of this chunk or an earlier one)
    in the same write; the caller's phone is encrypted and hashed by its fields as on save."""
    for life, pk in zip(chunk, bulk.reserve_ids(Case, len(chunk)), strict=True):
        life.case.pk = pk
    for life in chunk:
        if life.master is not None and life.case.state == S.MERGED:
            master = life.master.case
            life.case.merged_into_id = master.pk
            for index, entry in enumerate(life.logs):
                if entry[0] == "merge":
                    life.logs[index] = (*entry[:6], {"master_id": master.pk, "master_number": master.number})
    bulk.insert_rows(Case, [life.case for life in chunk], with_pk=True)
    rows = sorted(((life.case.pk, *entry) for life in chunk for entry in life.logs), key=lambda r: r[5])
    bulk.insert_rows(
        CaseLog,
        [
            {
                "case_id": case_id,
                "action": action,
                "from_state": from_state,
                "to_state": to_state,
                "actor_id": actor,
                "at": at,
                "note": note,
                "data": data,
            }
            for case_id, action, from_state, to_state, actor, at, note, data in rows
        ],
    )


_FIELDS: dict = {}


def _new(model, **values):
    """model(**values), through the positional path of Model.__init__ (three times faster
    for the 150,000 rows of a year); every other field takes its default."""
    if model not in _FIELDS:
        _FIELDS[model] = [
            (f.attname, f.get_default if f.has_default() or not f.primary_key else None)
            for f in model._meta.concrete_fields
        ]
    return model(
        *[
            values[name] if name in values else (default() if default else None)
            for name, default in _FIELDS[model]
        ]
    )
