"""Identity codes and the national code tables the registry uses (standards.md §7).

Validators raise Django's ValidationError with a message in the user's language, so the
same check serves forms, the API and the Excel importer.
"""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from gridgov.core.text import fold_code, is_digits

# --- 公民身份号码, GB 11643-1999 (ISO 7064 MOD 11-2) ---------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class IdInfo:
    number: str  # 18 characters, X uppercase
    birth_date: date
    sex: str  # "1" male, "2" female (GB/T 2261.1)


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str) -> str:
    """Fold to ASCII (full-width digits, spaces, a lower-case x) and lift a 15-digit legacy
    number to 18. The lookup hash is computed on this form."""
    number = fold_code(value)
    if len(number) == 15 and is_digits(number):
        body = number[:6] + "19" + number[6:]
        number = body + id_check_char(body)
    return number


def parse_id_number(value: str, *, today: date | None = None) -> IdInfo:
    """Validate an ID number and derive birth date and sex from it."""
    number = normalize_id_number(value)
    if len(number) != 18 or not is_digits(number[:17]) or number[17] not in "0123456789X":
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a digit or X."), code="id_format"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID number (%s) is not a real date.") % number[6:14],
            code="id_birth_date",
        ) from None
    if birth > (today or date.today()) or birth.year < 1880:
        raise ValidationError(
            _("The birth date in this ID number (%s) is impossible.") % number[6:14], code="id_birth_date"
        )
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(_("The check character of this ID number is wrong: mistyped?"), code="id_check")
    return IdInfo(number, birth, "1" if int(number[16]) % 2 else "2")


def validate_id_number(value: str) -> None:
    parse_id_number(value)


# --- 统一社会信用代码, GB 32100-2015 -------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalize_credit_code(value: str) -> str:
    return fold_code(value)


def credit_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _org_code_check(body8: str) -> str:
    """GB 11714 check of the 9-character organisation code inside the credit code."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    check = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate_credit_code(value: str) -> None:
    code = normalize_credit_code(value)
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        raise ValidationError(
            _("A unified social credit code has 18 characters from 0-9 and A-Y without I, O, Z, S, V."),
            code="credit_format",
        )
    if not is_digits(code[2:8]):
        raise ValidationError(
            _("Characters 3–8 of a credit code are a 6-digit division code."), code="credit_division"
        )
    if credit_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character of this credit code is wrong: mistyped?"), code="credit_check"
        )
    body = code[8:16]
    if (
        body.isalnum()
        and all(c.isdigit() or "A" <= c <= "Z" for c in body)
        and _org_code_check(body) != code[16]
    ):
        raise ValidationError(
            _("The organisation code inside this credit code (characters 9–17) is wrong: mistyped?"),
            code="credit_org_code",
        )


# --- code tables (standards.md §7.4) ------------------------------------------------------

SEX = [("1", "男"), ("2", "女"), ("0", "未知的性别"), ("9", "未说明的性别")]

MARITAL_STATUS = [
    ("10", "未婚"),
    ("20", "已婚"),
    ("21", "初婚"),
    ("22", "再婚"),
    ("23", "复婚"),
    ("30", "丧偶"),
    ("40", "离婚"),
    ("90", "未说明的婚姻状况"),
]

_ETHNIC_NAMES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 "
    "傣族 黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 "
    "布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 "
    "保安族 裕固族 京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split()
ETHNICITY = [(f"{i:02d}", name) for i, name in enumerate(_ETHNIC_NAMES, 1)] + [
    ("97", "其他未识别民族"),
    ("98", "外国血统中国籍人士"),
]

POLITICAL_STATUS = [
    ("01", "中共党员"),
    ("02", "中共预备党员"),
    ("03", "共青团员"),
    ("04", "民革党员"),
    ("05", "民盟盟员"),
    ("06", "民建会员"),
    ("07", "民进会员"),
    ("08", "农工党党员"),
    ("09", "致公党党员"),
    ("10", "九三学社社员"),
    ("11", "台盟盟员"),
    ("12", "无党派人士"),
    ("13", "群众"),
]

RELATION = [
    ("01", "本人"),
    ("02", "户主"),
    ("03", "小集体户户主"),
    ("10", "配偶"),
    ("11", "夫"),
    ("12", "妻"),
    ("20", "子"),
    ("21", "独生子"),
    ("22", "长子"),
    ("23", "次子"),
    ("24", "三子"),
    ("25", "四子"),
    ("26", "五子"),
    ("27", "养子或继子"),
    ("28", "女婿"),
    ("29", "其他儿子"),
    ("30", "女"),
    ("31", "独生女"),
    ("32", "长女"),
    ("33", "二女"),
    ("34", "三女"),
    ("35", "四女"),
    ("36", "五女"),
    ("37", "养女或继女"),
    ("38", "儿媳"),
    ("39", "其他女儿"),
    ("40", "孙子、孙女或外孙子、外孙女"),
    ("41", "孙子"),
    ("42", "孙女"),
    ("43", "外孙子"),
    ("44", "外孙女"),
    ("45", "孙媳妇或外孙媳妇"),
    ("46", "孙女婿或外孙女婿"),
    ("47", "曾孙子或外曾孙子"),
    ("48", "曾孙女或外曾孙女"),
    ("49", "其他孙子、孙女或外孙子、外孙女"),
    ("50", "父母"),
    ("51", "父亲"),
    ("52", "母亲"),
    ("53", "公公"),
    ("54", "婆婆"),
    ("55", "岳父"),
    ("56", "岳母"),
    ("57", "继父或养父"),
    ("58", "继母或养母"),
    ("59", "其他父母关系"),
    ("60", "祖父母或外祖父母"),
    ("61", "祖父"),
    ("62", "祖母"),
    ("63", "外祖父"),
    ("64", "外祖母"),
    ("65", "配偶的祖父母或外祖父母"),
    ("66", "曾祖父"),
    ("67", "曾祖母"),
    ("68", "配偶的曾祖父母或外曾祖父母"),
    ("69", "其他祖父母或外祖父母关系"),
    ("70", "兄弟姐妹"),
    ("71", "兄"),
    ("72", "嫂"),
    ("73", "弟"),
    ("74", "弟媳"),
    ("75", "姐姐"),
    ("76", "姐夫"),
    ("77", "妹妹"),
    ("78", "妹夫"),
    ("79", "其他兄弟姐妹"),
    ("80", "其他"),
    ("81", "伯父"),
    ("82", "伯母"),
    ("83", "叔父"),
    ("84", "婶母"),
    ("85", "舅父"),
    ("86", "舅母"),
    ("87", "姨父"),
    ("88", "姨母"),
    ("89", "姑父"),
    ("90", "姑母"),
    ("91", "堂兄弟、堂姐妹"),
    ("92", "表兄弟、表姐妹"),
    ("93", "侄子"),
    ("94", "侄女"),
    ("95", "外甥"),
    ("96", "外甥女"),
    ("97", "其他亲属"),
    ("99", "非亲属"),
]

EDUCATION = [
    ("10", "研究生教育"),
    ("11", "博士研究生毕业"),
    ("12", "博士研究生结业"),
    ("13", "博士研究生肄业"),
    ("14", "硕士研究生毕业"),
    ("15", "硕士研究生结业"),
    ("16", "硕士研究生肄业"),
    ("17", "研究生班毕业"),
    ("18", "研究生班结业"),
    ("19", "研究生班肄业"),
    ("20", "大学本科教育"),
    ("21", "大学本科毕业"),
    ("22", "大学本科结业"),
    ("23", "大学本科肄业"),
    ("28", "大学普通班毕业"),
    ("30", "大学专科教育"),
    ("31", "大学专科毕业"),
    ("32", "大学专科结业"),
    ("33", "大学专科肄业"),
    ("40", "中等职业教育"),
    ("41", "中等专科毕业"),
    ("42", "中等专科结业"),
    ("43", "中等专科肄业"),
    ("44", "职业高中毕业"),
    ("45", "职业高中结业"),
    ("46", "职业高中肄业"),
    ("47", "技工学校毕业"),
    ("48", "技工学校结业"),
    ("49", "技工学校肄业"),
    ("60", "普通高级中学教育"),
    ("61", "普通高中毕业"),
    ("62", "普通高中结业"),
    ("63", "普通高中肄业"),
    ("70", "初级中学教育"),
    ("71", "初中毕业"),
    ("73", "初中肄业"),
    ("80", "小学教育"),
    ("81", "小学毕业"),
    ("83", "小学肄业"),
    ("90", "其他"),
]

TABLES = {
    "sex": SEX,
    "marital_status": MARITAL_STATUS,
    "ethnicity": ETHNICITY,
    "political_status": POLITICAL_STATUS,
    "relation": RELATION,
    "education": EDUCATION,
}


def code_for(table: str, value: str) -> str:
    """Accept a code or its label (Excel users type 汉族, not 01); return the code."""
    value = (value or "").strip()
    for code, label in TABLES[table]:
        if value in (code, label):
            return code
    if value.isdigit() and len(value) == 1:
        return code_for(table, value.zfill(2)) if table != "sex" else ""
    return ""
