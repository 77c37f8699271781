"""Every sentence Sheli says, in one place. `{n}` is always a ticket number, shown as #n."""

from __future__ import annotations

STATUS_NAMES = {
    "open": "待分派",
    "assigned": "已派单",
    "accepted": "处理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "cancelled": "已取消",
    "reopened": "重新处理中",
}

INTENT_NAMES = {
    "repair": "物业报修",
    "mediation": "矛盾调解",
    "legal_consult": "法律咨询",
    "job_fair": "招聘求职",
    "hazard": "安全隐患",
    "hardship": "困难帮扶",
    "social_security": "社保医保",
    "ask_human": "人工求助",
}

# What a menu button asks; the next message becomes a request of that kind.
MENU_PROMPTS = {
    "REPAIR": "请说一下哪里坏了，带上楼栋房间号，例如「3栋502热水器不出热水」。",
    "MEDIATION": "请说说遇到了什么矛盾，在哪栋哪间，我们安排网格员来调解。",
    "LEGAL": "请说说想咨询的法律问题，例如欠薪、合同、工伤，法律顾问会联系你。",
    "JOBS": "想了解招聘会还是找工作？说说你的情况，就业服务专员会帮你。",
    "HAZARD": "请说一下是什么隐患、在哪栋哪层，例如「8号楼四楼楼梯间电线裸露」。着火或燃气泄漏请先离开，拨打119。",
    "HARDSHIP": "请说说遇到了什么困难，支部联络员会联系你。你说的情况只有负责的工作人员能看到。",
    "SOCIAL_SECURITY": "请说说想办的社保、医保事项，例如查缴费记录、补办社保卡、医保报销。",
}

MENU = "回复「进度」查看办理情况，「人工」找工作人员。"

WELCOME = (
    "欢迎来到{site}！有事直接发文字或语音就行：\n"
    "· 报修：如「3栋502热水器坏了」\n"
    "· 矛盾调解：室友、邻里纠纷\n"
    "· 法律咨询：欠薪、合同、工伤\n"
    "· 招聘求职：招聘会、找工作\n"
    "回复「进度」查看办理情况，「人工」找工作人员。"
)

TICKET_CREATED = "收到！已登记{intent_name} #{n}，{assignee}会尽快处理。"
TICKET_CREATED_URGENT = (
    "收到，情况紧急，已登记 #{n} 并通知{assignee}，请注意安全，危急时请直接拨打110。"
)
TICKET_UNASSIGNED = (
    "收到！已登记{intent_name} #{n}。现在暂时没有在岗的工作人员，有人上岗后会马上安排，请稍候。"
)
ASSIGNEE = "{role}{name}"
ASK_LOCATION = "好的，请告诉我具体在哪里（楼栋和房间号），例如「3栋502」。"
LOCATION_FROM_ROOM = "\n地点按你的住址{room}登记；不在这里的话，请告诉我具体位置。"
ASK_LOCATION_AGAIN = "还需要地点才能派人，请发楼栋和房间号，例如「3栋502」；不报了回复「取消」。"
LOCATION_STATE_EXPIRED = (
    "刚才的报修一直没收到地点，已先作废。需要的话请重新发一次，带上楼栋房间号。"
)
INTAKE_CANCELLED = "好的，刚才的登记已取消。"
DUPLICATE_LINKED = (
    "这个问题已有人报过（#{n}，{assignee}处理中），已把你一起关联上，有进展会通知你。"
)
PHONE_KEPT = "联系电话已记下。"
HELP = "抱歉，我没太明白。可以直接说遇到的问题，比如「6号楼电梯坏了」「老板拖欠工资」。" + MENU
GREETING = "你好！我是{site}小助手，有什么需要帮忙的直接说。" + MENU
THANKS = "不客气！有需要随时找我。"
RATING_WITHOUT_VISIT = "谢谢你的反馈！有新的问题随时告诉我。"
VOICE_NOT_RECOGNISED = "这条语音没听清，麻烦打字告诉我，好吗？"
IMAGE_ATTACHED = "图片已附到工单 #{n}，工作人员会看到。"
IMAGE_NO_TICKET = "收到图片。目前你没有办理中的工单，请用文字说一下是什么问题。"
VOICE_ATTACHED = "语音已附到工单 #{n}，工作人员会听到。这条没听清，新的问题请打字告诉我。"
LOCATION_RECEIVED = "位置已收到：{label}。"
UNSUPPORTED = "暂时只能处理文字、语音、图片和位置消息，请用文字告诉我遇到的问题。"
SORRY = "系统有点忙，请稍后再发一次，给你添麻烦了。"
# Video, short video, link and file messages: what Sheli can take instead.
UNSUPPORTED_KIND = (
    "收到你发的{what}，不过我还看不了{what}。请用文字、语音、照片或位置告诉我遇到的问题。"
)
UNSUPPORTED_KIND_NAMES = {"video": "视频", "shortvideo": "小视频", "link": "链接", "file": "文件"}
WELCOME_BACK = "欢迎回来！有事直接发文字或语音告诉我。" + MENU

STATUS_NONE = "你还没有办理中的事项。有问题直接告诉我就行。"
STATUS_HEADER = "你的办理情况："
STATUS_LINE = "#{n} {intent_name}：{summary} {status}{extra}"
STATUS_MORE = "（只显示最近{count}条）"

CANCEL_DONE = "#{n} 已取消。"
CANCEL_NOTHING = "你没有可以取消的工单。"
NOT_YOUR_TICKET = "没有找到你的工单 #{n}，请核对编号，回复「进度」可查看。"
CANNOT_CANCEL = "#{n} 目前{status}，不能取消了。"
# Cancels in words are never guessed: one ticket named → confirm; otherwise → which one?
CANCEL_CONFIRM = "确认取消 #{n}（{summary}）吗？回复「确认」。"
CANCEL_WHICH_LIST = "要取消哪一单？请回复「取消 编号」：\n{tickets}"
CANCEL_LIST_LINE = "#{n} {intent_name}：{summary}"
CANCEL_KEPT = "好的，#{n} 不取消，继续为你办理。"
CANCEL_NOT_CONFIRMED = "刚才的取消没有确认，#{n} 仍在办理。\n"
CANCEL_TAKEN_BACK = "好的，没有取消任何工单。"
CANCEL_ALREADY_DONE = "好的，没有再取消别的。#{n} 之前已经取消了，取消后不能恢复；还需要的话请重新说一下问题，我重新登记。"

# 人工 opens a ticket for the branch liaison; the liaison answers with 回复 n.
HUMAN_TICKET = "已通知{assignee}（#{n}），会尽快联系你。想补充情况的话，直接发「补充 {n} 内容」。"
HUMAN_TICKET_NO_ONE = (
    "已记下（#{n}）。现在暂时没有在岗的工作人员，有人上岗后会马上联系你；"
    "想补充情况的话，直接发「补充 {n} 内容」。"
)
HUMAN_ALREADY = (
    "已经在帮你联系{assignee}了（#{n}），请稍候；想补充情况的话，直接发「补充 {n} 内容」。"
)
HUMAN_NO_MESSAGES = "住户请求人工帮助（之前没有留言）"

# A resident's words for staff (a plain answer within the reply window, or 补充 n).
PASSED_ON = "已转给 #{n} 的{assignee}。"
PASSED_ON_NOBODY = "已记到 #{n} 上。现在暂时没有在岗的工作人员，有人上岗后会看到。"
ADD_USAGE = "请写上工单编号和内容，例如「补充 {n} 漏水越来越大了」。"
ADD_USAGE_NO_TICKETS = "你目前没有办理中的工单。有新问题直接告诉我就行。"
ADD_WHICH = "请写上工单编号，例如「补充 {n} 漏水越来越大了」。你办理中的：\n{tickets}"
ADD_EMPTY = "请写上要补充的内容，例如「补充 {n} 漏水越来越大了」。"
ADD_CLOSED = "#{n} 已{status}，不能再补充了；有新情况请直接告诉我，我重新登记。"

# Corrections of a ticket's place.
LOCATION_CORRECTED = "好的，#{n} 的地点已改为{location}，已告诉{assignee}。"
LOCATION_CORRECTED_NOBODY = "好的，#{n} 的地点已改为{location}。"
LOCATION_UNCHANGED = "#{n} 登记的地点就是{location}，不用改。"
LOCATION_STILL_MISSING = "\n还不知道具体位置，知道了直接发给我（如「3栋502」），我补到 #{n} 上。"

# Nobody on duty in the role: the ticket goes to the branch liaison first, and everyone is told.
TICKET_CREATED_FALLBACK = (
    "收到！已登记{intent_name} #{n}。{wanted}暂无在岗人员，已先交给{assignee}，会尽快处理。"
)
TRANSFERRED_FALLBACK = "{wanted}暂无在岗人员，#{n} 已先交给{assignee}。"
TRANSFERRED_NOBODY = "{wanted}暂无在岗人员，#{n} 待分派，有人上岗后会派出。"
NOTIFY_FALLBACK_REASON = "\n（{wanted}暂无在岗人员，先交给你处理。）"

# 注销 asks first.
ERASE_ASK = (
    "注销会删除我们保存的你的个人信息：住址、电话、你发来的消息，以及工单里的个人内容；"
    "还没开始的活动报名会取消，名额让给候补的人；工单只留下匿名的统计，删除后不能恢复。\n确定的话，请在{ttl}内回复「确认注销」；不注销就不用理会。"
)
ERASE_NOT_ASKED = "要注销的话，请先发「注销」，看清会删除哪些信息后再回复「确认注销」。"
ERASE_KEPT = "好的，不注销，你的信息都保留着。"
ERASE_SAY_THE_WORDS = "要注销的话，请回复「确认注销」这四个字；不注销就不用理会。"

# Floods: too many new tickets (or messages) from one person.
TOO_MANY_TICKETS = (
    "你在{window}内已经提了{count}件诉求，我们正在处理。新的诉求请过一会儿再发；"
    "要补充已有的工单，请发「补充 编号 内容」，急事请回复「人工」。"
)
TOO_MANY_MESSAGES = "消息有点多，我先缓一缓，请过{window}再发。急事请回复「人工」。"
NOTIFY_FLOOD = (
    "【频繁提交提醒】住户{who}在{window}内连续发来大量诉求或消息，已暂停为其登记新诉求"
    "（安静{window}后恢复）。最近一单：{latest}。如确有急事，可用「回复 编号 内容」联系住户。"
)
FLOOD_NO_TICKET = "无"

# Staff side.
BIND_OK = "绑定成功！{name}，你的岗位是{role}。回复「任务」查看待办。"
BIND_BAD_CODE = "绑定码无效或已过期，请向管理员重新获取。"
BIND_ALREADY = "这个微信号已绑定为{role}{name}。"
STAFF_ONLY = "这个指令只供社区工作人员使用。有事直接告诉我就行。"
NOT_ASSIGNEE = "#{n} 不在你的任务里，只有负责人或支部联络员可以操作。"
NO_SUCH_TICKET = "没有找到工单 #{n}。"
TASKS_NONE = "你目前没有待办任务。"
TASKS_HEADER = "你的待办（{count}）："
TASK_LINE = "#{n} {status} {intent_name} {location}{text}"
ACCEPTED = "已接单 #{n}，请尽快处理，完成后回复「完成 {n} 处理说明」。"
ALREADY_ACCEPTED = "#{n} 已经在处理中了。"
RESOLVED = "#{n} 已办结，谢谢！系统会回访住户。"
WRONG_STATE = "#{n} 当前{status}，不能这样操作。"
NEED_NOTE = "请附上处理说明，例如「完成 {n} 已更换水龙头」。"
TRANSFERRED = "#{n} 已转派给{assignee}。"
TRANSFER_UNKNOWN_ROLE = "没有「{role}」这个岗位。可选：{roles}。"
NOTE_ADDED = "#{n} 备注已记录。"
NOTE_EMPTY = "请写上备注内容，例如「备注 {n} 已联系住户」。"
STAFF_USAGE = (
    "指令格式：任务 / 接单 编号 / 完成 编号 说明 / 转派 编号 岗位 / 备注 编号 内容"
    " / 回复 编号 内容 / 电话 编号"
)
# Staff (or an operator) writing to a resident through Sheli: 【#12 物业管家王师傅】明天上午来
REPLY_TO_RESIDENT = "【#{n} {sender}】{text}"
REPLY_SENDER_OPERATOR = "社区工作人员"
REPLY_SENT = "已转给 #{n} 的住户。住户{window}内直接回复的话，会转给你。"
REPLY_EMPTY = "请写上要对住户说的话，例如「回复 {n} 明天上午九点上门，方便吗？」"
REPLY_NOT_ALLOWED = "#{n} 不在你的任务里，只有负责人或支部联络员可以回复住户。"
REPLY_CLOSED = "#{n} 当前{status}，不能再回复住户了；有新情况请让住户重新报。"
REPLY_NO_RESIDENT = "#{n} 的住户已注销，无法联系。"
PHONE_IS = "#{n} 住户电话：{phone}（此次查看已记录）"
PHONE_NONE = "#{n} 住户没有留电话，可以用「回复 {n} 内容」联系住户。"
PHONE_NOT_ALLOWED = "#{n} 不在你的任务里，只有负责人或支部联络员可以查看电话。"
# The template message sent when WeChat refuses a customer-service message (45015/45047).
TEMPLATE_FIRST = "社区服务通知"
TEMPLATE_NO_TICKET = "通知"
TEMPLATE_REMARK = "回复公众号可继续办理"
# A long message is sent as numbered parts, never cut: "（1/3）…".
PART_PREFIX = "（{i}/{total}）"

# Messages Sheli sends on its own (outbox).
NOTIFY_NEW_TASK = "【新任务 #{n}】{urgent}{intent_name}\n{text}\n地点：{location}\n电话：{phone}\n回复「接单 {n}」接单。"
NOTIFY_TRANSFERRED_TASK = "【转派任务 #{n}】{urgent}{intent_name}\n{text}\n地点：{location}\n电话：{phone}\n回复「接单 {n}」接单。"
NOTIFY_REOPENED_TASK = (
    "【重新处理 #{n}】{reason}\n{text}\n地点：{location}\n电话：{phone}\n回复「接单 {n}」接单。"
)
NOTIFY_TICKET_CANCELLED = "#{n} 已被住户取消，无需处理。"
NOTIFY_ACCEPTED = "你的 #{n} 已由{assignee}接单，正在处理。"
NOTIFY_RESOLVED = "你的 #{n} 已处理完：{note}\n稍后会请你评价一下。"
NOTIFY_TRANSFERRED = "你的 #{n} 已转给{assignee}处理。"
NOTIFY_REOPENED = "你的 #{n} 已重新交给{assignee}处理，给你添麻烦了。"
NOTIFY_HUMAN_TASK = (
    "【人工求助 #{n}】住户需要人工帮助。\n最近的消息：\n{text}\n住址：{location}\n电话：{phone}\n"
    "回复「回复 {n} 内容」联系住户，「接单 {n}」接单。"
)
# A resident's answer (within the reply window) or 补充, forwarded to the assignee.
NOTIFY_RESIDENT_REPLY = "【#{n} 住户回复】{text}"
NOTIFY_RESIDENT_ADDED = "【#{n} 住户补充】{text}"
NOTIFY_LOCATION_CORRECTED = "【#{n} 地点更正】住户说地点是：{location}（原登记：{old}）"
NOTIFY_LINKED = "#{n} 又有住户报了同一个问题（{location}），请优先处理。"

# Residents' own data.
ROOM_REGISTERED = "已登记住址：{room}。以后报修会默认用这个地址。"
ROOM_UNCLEAR = "没认出房间号，请按「登记 3栋502」的格式发送。"
MY_INFO = "我们保存的你的信息：\n住址：{room}\n电话：{phone}\n工单：{tickets}件\n首次联系：{since}\n回复「注销」可删除这些个人信息。"
ERASED = "你的个人信息已删除，工单只保留匿名统计。以后有需要随时再找我们。"
ERASED_TICKET_TEXT = "（住户已注销，内容已删除）"
MY_INFO_NO_ROOM = "未登记"
MY_INFO_NO_PHONE = "未留"

# Follow-up visit (回访).
VISIT_ASK = "回访：你的 #{n}（{intent_name}）已处理完，问题解决了吗？请回复1-5打分（5分最满意），没解决请回复「{not_fixed}」。"
VISIT_ASK_AGAIN = "不好意思没看明白。#{n} 处理得怎么样？请回复1-5的数字（5分最满意），没解决请回复「{not_fixed}」。"
# What a visit asks the resident to say when it is not solved, by intent (else VISIT_NOT_SOLVED).
VISIT_NOT_FIXED_WORDS = {"repair": "没修好"}
VISIT_NOT_SOLVED = "没解决"
VISIT_THANKS = "谢谢你的评价（{rating}分）！#{n} 已结单。"
VISIT_REOPENED = "抱歉没让你满意，#{n} 已重新交给{assignee}处理，支部联络员也会跟进。"
NOTIFY_LOW_RATING = "【回访预警】#{n} 住户反馈：{reason}，已重新派给{assignee}，请跟进。"

# SLA (督办).
NOTIFY_SLA_ACCEPT = "【督办】#{n} 派单已超过{hours}仍未接单，请尽快处理。"
NOTIFY_SLA_RESOLVE = "【督办】#{n} 已超过办结时限{hours}，请尽快办结。"
NOTIFY_SLA_LIAISON = "【督办】#{n}（{assignee}）{what}已超过{hours}时限，请督促。"
NOTIFY_SLA_SECRETARY = (
    "【督办升级】#{n}（{intent_name}，{assignee}）{what}严重超时（超过{hours}），请关注。"
)

# SLA digests: everything one person is to be told about breaches in one scheduler tick, as one
# message (handlers/sla.py). One breach alone reads as the NOTIFY_SLA_* sentence above.
SLA_DIGEST_TITLE = "【督办】"
SLA_DIGEST_OWN = {
    "accept": "你有{count}件工单超时未接单：{numbers}",
    "resolve": "你有{count}件工单超过办结时限：{numbers}",
}
SLA_DIGEST_OTHERS = "{count}件工单超时，请督促：{items}"
SLA_DIGEST_OTHERS_ITEM = "#{n}（{assignee}·{what}）"
SLA_DIGEST_ESCALATED_TITLE = "【督办升级】"
SLA_DIGEST_ESCALATED = "{count}件工单严重超时，请关注：{items}"
SLA_DIGEST_ESCALATED_ITEM = "#{n}（{intent_name}·{what}）"
SLA_DIGEST_MORE = "等"
SLA_DIGEST_SEE_TASKS = "回复「任务」查看。"

# Follow-up visit outcomes (handlers/followup.py).
VISIT_THANKS_FIXED = "太好了，谢谢你的反馈！#{n} 已结单。"
VISIT_CLOSED_RATED = "回访评分{rating}分，结单"
VISIT_CLOSED_FIXED = "回访确认已解决，结单"
VISIT_REASON_NOT_FIXED = "回访说没解决：「{said}」"
VISIT_REASON_LOW_RATING = "回访只打了{rating}分"
VISIT_EXPIRED_DETAIL = "回访未回复"
VISIT_SKIPPED_DETAIL = "住户已注销，不回访"

# SLA (督办) events (handlers/sla.py).
SLA_WHAT = {"accept": "接单", "resolve": "办结"}
SLA_EVENT_DETAIL = "{what}超时（超过{hours}）·{level}级"

# Weekly summary to the branch secretary (handlers/summary.py); one WeChat text, under 600 chars.
SUMMARY = {
    "title": "【{site}周报】{week}（{first}—{last}）",
    "intake": "新收诉求{new}件{by_intent}",
    "cancelled": "，取消{n}件",
    "intake_end": "。",
    "rates": "办结率{completion}{fraction}，响应率{response}，解决率{solve}，满意率{satisfaction}。",
    "fraction": "（新收{of}件已办结{done}件）",
    # Every ticket resolved this week, whenever it came in (办结率 counts this week's only).
    "resolved": "本周共办结{n}件（含往周诉求）",
    "times": "，首次响应中位{first}，办结用时中位{resolve}",
    "resolved_end": "。",
    "visits": "回访{concluded}件，回复{answered}件（{rate}）{mean}{silent}。",
    "mean": "，平均{mean}分",
    "silent": "，{n}件未回复（不计入满意）",
    "no_visits": "本周暂无回访结果。",
    "breaches": "本周督办{n}件，其中{escalated}件已报支部书记。",
    "overdue": "当前超时未办{n}件：{tickets}{more}。",
    "overdue_item": "#{n}（{what}）",
    "more": "等",
    "no_overdue": "当前无超时工单。",
    "load": "在办：{load}。",
    "buildings": "诉求集中：{places}，请关注是否反复出现。",
    "link": "详情：{url}/dashboard/summary?week={week}",
}

# Community data.
# Events are written 「活动n」 (n = the event's number) so they never look like a ticket #n.
EVENT_KIND_NAMES = {
    "job_fair": "招聘会",
    "legal_clinic": "法律服务",
    "market": "市集",
    "other": "活动",
    "lecture": "讲座",
    "volunteer": "志愿活动",
}
WEEKDAYS = "一二三四五六日"
EVENT_WHEN = "{month}月{day}日（周{weekday}）{time}"
EVENT_LINE = "「活动{n}」{when} {title}，地点：{place}{seats}"
EVENT_SEATS_LEFT = "，余{left}个名额"
EVENT_FULL = "，已满可候补"
EVENT_OPENINGS = "\n  岗位：{openings}"
EVENT_OPENING = "{company}{job}{pay}"
EVENT_MORE_OPENINGS = "等{n}个"
EVENT_PLACE_TBD = "另行通知"
JOB_FAIRS_HEADER = "最近的招聘会："
JOB_FAIRS_FOOTER = (
    "回复「报名 活动编号」报名，例如「报名 {n}」。"
    "想请就业服务专员帮你找工作，直接说「帮我找工作」。"
)
# A job_fair message with one of these asks about fairs or openings (answered from events)...
JOB_QUESTION_WORDS = (
    "招聘会",
    "招聘",
    "招工",
    "招人",
    "什么时候",
    "哪里",
    "在哪",
    "哪儿",
    "有没有",
    "有吗",
    "有啥",
    "岗位",
    "职位",
    "哪些公司",
    "什么公司",
    "什么工作",
    "工资多少",
    "待遇",
)
# ...unless it asks for personal help, which stays a ticket for the employment liaison.
PERSONAL_HELP_WORDS = (
    "帮我找",
    "帮忙找",
    "帮我介绍",
    "帮我推荐",
    "给我介绍",
    "给我推荐",
    "介绍个工作",
    "介绍工作",
    "推荐个工作",
    "失业",
    "没工作",
    "没有工作",
    "找不到工作",
    "丢了工作",
    "被辞退",
    "被开除",
    "想找工作",
    "想找份工作",
    "找份工作",
    "找个工作",
)
NEXT_LEGAL_CLINIC = (
    "\n另外，{when}在{place}有「{title}」（活动{n}），律师现场解答，回复「报名 {n}」报名。"
)
NEXT_JOB_FAIR = (
    "\n最近的招聘会：{when}「{title}」（活动{n}），地点：{place}，回复「报名 {n}」报名。"
)
SIGN_UP_OK = "报名成功！「活动{n}」{title}，{when}，地点：{place}。活动前一天会提醒你。"
SIGN_UP_WAITING = "「活动{n}」{title}名额已满，已为你排候补第{position}位，有空位会通知你。"
SIGN_UP_ALREADY = "你已经报名了「活动{n}」，不用重复报名。"
SIGN_UP_ALREADY_WAITING = "你已在「活动{n}」的候补名单上（第{position}位），有空位会通知你。"
SIGN_UP_STATUS = {"confirmed": "已报名", "waiting": "候补中", "cancelled": "已取消"}
SIGN_UP_NO_EVENT = "没有找到「活动{n}」，请核对活动编号。"
SIGN_UP_CLOSED = "「活动{n}」已经开始或结束，不能报名了。"
EVENT_CANCELLED = "抱歉，「活动{n}」{title}已取消，你的报名随之作废。有新活动会再通知你。"
SIGN_UP_EVENT_CANCELLED = "「活动{n}」已取消，不能报名。"
SIGN_UP_WHICH = "请回复「报名 活动编号」，例如「报名 {n}」。最近的活动：\n{events}"
SIGN_UP_NOTHING = "最近没有可以报名的活动，有新活动会第一时间公布。"
SIGN_UP_PROMOTED = (
    "好消息：「活动{n}」{title}有空位了，你已从候补转为报名成功。时间：{when}，地点：{place}。"
)
EVENT_REMINDER = "【活动提醒】{day}{time}「活动{n}」{title}，地点：{place}。记得准时参加！"
EVENT_DAY_NAMES = {0: "今天", 1: "明天"}
EVENT_DAY = "{m}月{d}日"
MY_INFO_SIGN_UPS = "活动报名：{items}"
MY_INFO_SIGN_UP = "「活动{n}」{title}（{status}）"
ROOM_LEARNED = "\n已把{room}记为你的住址，回复「登记 房间号」可更改。"
PHONE_CONSENT_ASK = "\n你留的电话只用于这一单；回复「保存电话」，以后办事自动带上。"
PHONE_SAVED = "已保存你的电话{phone}，以后办事会自动带上。回复「我的信息」可查看，「注销」可删除。"
PHONE_NONE_TO_SAVE = "没有找到你留过的电话，可以这样发：「保存电话 13812345678」。"
SUMMARY_EVENTS = "活动：本周报名{sign_ups}人次（候补{waiting}），已举办{held}场，签到{attended}人。"
NOTIFY_HELPER = "【志愿协助 #{n}】志愿者{volunteer}（{team}）将协助处理此工单。"

# Refusals of operators' and staff's requests (handlers.errors: NotFound, Invalid).
NO_SUCH_EVENT = "没有「活动{n}」。"
NO_SUCH_SIGN_UP = "「活动{n}」没有这条报名。"
NO_SUCH_STAFF = "没有编号为 {id} 的工作人员。"
NO_SUCH_RESIDENT = "没有住户 {n}。"
NO_SUCH_BUILDING = "没有楼栋“{name}”。"
NO_SUCH_VOLUNTEER = "这位志愿者不存在或已停用。"
CHOOSE_VOLUNTEER = "请选择志愿者。"
STAFF_UNKNOWN_ROLE = "没有「{role}」这个岗位。可选：{roles}。"
STAFF_NAME_EMPTY = "请填写姓名。"
STAFF_OPENID_TAKEN = "这个微信号（openid）已绑定给其他工作人员。"
BAD_WEEK = "周次格式应为 2026-W47"
IMPORT_UNKNOWN_KIND = "不能导入「{what}」，可导入：{kinds}。"
IMPORT_NO_FILE = "请选择要导入的文件（YAML 或 CSV）。"

# The operators' dashboard (bot/dashboard).
AUDIT_EVENT_NAMES = {
    "created": "登记",
    "assigned": "派单",
    "unassigned": "待分派",
    "accepted": "接单",
    "resolved": "办结",
    "transferred": "转派",
    "note": "备注",
    "cancelled": "取消",
    "reopened": "重新处理",
    "closed": "关闭",
    "visit_sent": "回访已发",
    "visit_answered": "回访回复",
    "visit_unclear": "回访未识别",
    "visit_expired": "回访未回复",
    "sla_breach": "超时督办",
    "duplicate_report": "重复报告",
    "image": "图片",
    "voice": "语音",
    "viewed": "查看",
    "anonymised": "已匿名",
    "helper_assigned": "志愿协助",
    "staff_reply": "回复住户",
    "phone_viewed": "查看电话",
    "resident_reply": "住户回复",
    "location_corrected": "更正地点",
    "resident_added": "住户补充",
    "unfollowed": "不再跟进",
}
FOLLOWUP_NAMES = {
    "none": "未到回访",
    "due": "待回访",
    "asked": "已发送回访",
    "asked_again": "已再次询问",
    "answered": "已回复",
    "no_response": "未回复",
}
RECENT_WEEKS = "近{n}周"
CHAT_RESIDENT = "住户"
CHAT_SECRETARY = "书记"
CHAT_TO = "→ {who}"
FORM_EXPIRED = "表单已过期，请刷新页面后重试。"
LOGIN_WRONG = "用户名或密码不对"
DASHBOARD_NOTE_ADDED = "备注已记录。"
DASHBOARD_STAFF_NOT_ADDED = "没有添加：{reason}"
DASHBOARD_STAFF_REACTIVATED = "{name} 已恢复接单。"
DASHBOARD_STAFF_DEACTIVATED = "{name} 已停用，不再分派新工单{still}。"
DASHBOARD_STAFF_STILL_HOLDS = "，仍有{n}件在办工单，请到工单页转派"
DASHBOARD_EVENT_SAVED = "「活动{n}」已保存。"
DASHBOARD_EVENT_NOT_SAVED = "没有保存：{reason}"
DASHBOARD_EVENT_CANCELLED = "「活动{n}」已取消，不再接受报名，也不再发提醒。"
DASHBOARD_ATTENDANCE_RECORDED = "已记录 {n} 人的到场情况。"
DASHBOARD_ATTENDANCE_UNCHANGED = "到场情况没有变化。"
DASHBOARD_SIGN_UP_WITHDRAWN = "已取消住户 {resident} 的报名。"
DASHBOARD_HELPER_ASSIGNED = "已安排{team}{name}协助 #{n}。"
IMPORT_KIND_NAMES = {"events": "活动", "rooms": "房间", "resources": "共建资源"}
DASHBOARD_IMPORTED = "已导入{what}：新增 {created} 条，更新 {updated} 条。"
CHART_NO_DATA = "暂无数据"
OVERVIEW_CHARTS = {
    "volume": "近12周每周新收诉求（按类型）",
    "volume_empty": "诉求",
    "resolution": "办结用时与首次响应（{unit}）",
    "median_resolution": "办结用时中位数",
    "median_first_response": "首次响应中位数",
    "satisfaction": "满意率与解决率（%）",
    "satisfaction_rate": "满意率",
    "solve_rate": "解决率",
    "buildings": "近12周各楼栋诉求数",
}
BUILDINGS_CHARTS = {
    "requests": "各楼栋诉求数",
    "open": "在办",
    "done": "已办结",
    "cancelled": "已取消",
    "beds": "各楼栋床位与登记住户",
    "residents": "登记住户",
    "empty_beds": "空床位",
}

# The simulator (local mode): demo staff and the menu buttons as the account shows them.
DEMO_STAFF_NAMES = {
    "branch_liaison": "李联络",
    "police_officer": "赵警官",
    "grid_worker": "陈网格",
    "property_steward": "张师傅",
    "legal_adviser": "刘律师",
    "employment_liaison": "孙专员",
}
MENU_LABELS = {
    "REPAIR": "物业报修",
    "MEDIATION": "矛盾调解",
    "LEGAL": "法律咨询",
    "JOBS": "招聘求职",
    "PROGRESS": "办理进度",
    "HUMAN": "人工服务",
    "MY_INFO": "我的信息",
    "HAZARD": "安全隐患",
    "HARDSHIP": "困难帮扶",
    "SOCIAL_SECURITY": "社保医保",
}
SIMULATOR_DEFAULT_PLACE = "3栋502"

# Photos and voice notes (handlers/media.py, bot/media.py): forwards to the assignee, why a fetch
# failed (kept on the attachment, shown on the dashboard's ticket page), local uploads.
FORWARD_IMAGE = "[图片] #{n} 住户发来一张照片（工作台的工单页也能看）"
FORWARD_VOICE = "[语音] #{n} 住户发来一段语音（工作台的工单页可下载）"
MEDIA_NO_ID = "消息里没有媒体编号（MediaId）"
MEDIA_WECHAT_ERROR = "微信返回错误 {code}：{text}"
MEDIA_WECHAT_UNAVAILABLE = "微信接口暂时不可用（{detail}）"
MEDIA_NETWORK = "连接微信失败（{detail}）"
MEDIA_JSON_NOT_FILE = "微信返回的是 JSON 而不是文件"
MEDIA_UNKNOWN_TYPE = "不是能识别的{what}文件"
MEDIA_KIND_WORDS = {"image": "图片", "voice": "语音"}
MEDIA_TOO_LARGE = "文件超过 {mb} MB"
MEDIA_EMPTY = "文件是空的"
MEDIA_EXPIRED = "微信只保留三天，已过期"
MEDIA_NOT_LOCAL = "本地模式没有微信接口，这个媒体编号取不到"
MEDIA_LOCAL_MISSING = "本地上传的文件不见了"
MEDIA_GAVE_UP = "（试了 {n} 次）"
MEDIA_UNEXPECTED = "意外错误（{kind}）"
MEDIA_STATUS_PENDING = "{what}获取中…"
MEDIA_STATUS_FAILED = "{what}获取失败：{reason}"
MEDIA_STATUS_ERASED = "{what}已随住户注销删除"
MEDIA_VOICE_DOWNLOAD = "下载语音（{type}，浏览器一般不能直接播放）"
MEDIA_UPLOAD_BAD = "上传的不是图片：请选 PNG、JPEG、GIF、WEBP 或 BMP 文件"
MEDIA_UPLOAD_TOO_LARGE = "图片太大：不能超过 {mb} MB"
# The pilot's other needs (issue 16): hazards, hardship, social security.
# A hazard is always urgent: the assignee is told at once and the grid worker for information.
TICKET_CREATED_HAZARD = (
    "收到，已登记安全隐患 #{n} 并通知{assignee}{informed}。"
    "请先远离危险的地方；着火或燃气泄漏请立即拨打119。"
)
# Who else hears of a hazard, only when somebody in that role is on duty: "，网格员也会知悉".
HAZARD_INFORMED = "，{roles}也会知悉"
HARDSHIP_PRIVATE = "\n你说的情况只有负责的工作人员能看到，不会公开。"
NOTIFY_INFORMED = (
    "【知悉 #{n}】{urgent}{intent_name}\n{text}\n地点：{location}\n已派{assignee}处理，请留意现场。"
)
# Social security (社保/医保): an answer from these notes beside the ticket, by topic.
SOCIAL_SECURITY_FAQ = (
    (
        ("补办", "挂失", "丢了", "丢失", "掉了"),
        "社保卡丢了：先拨打12333或在「电子社保卡」里挂失，再带身份证到社保经办网点或发卡银行补办。",
    ),
    (
        ("报销", "住院", "门诊", "看病", "药费"),
        "医保报销：住院一般在医院直接结算；门诊、异地看病要带发票、病历和社保卡到医保窗口报销，比例以当地政策为准。",
    ),
    (
        ("转移", "转到", "换城市", "回老家", "异地"),
        "换城市工作，社保可以转移接续：在新参保地申请，或在「国家社会保险公共服务平台」网上办理。",
    ),
    (
        ("断缴", "补缴", "断了"),
        "社保断缴后能否补缴、怎么补，各地规定不同，可拨打12333问清楚，就业服务专员也会帮你查。",
    ),
    (
        ("查", "几个月", "缴费记录", "交了多少", "缴了多少", "交没交"),
        "查社保缴费记录：用「电子社保卡」或「国家社会保险公共服务平台」小程序就能查，也可以拨打12333。",
    ),
)
SOCIAL_SECURITY_GENERAL = "社保、医保的政策问题也可以拨打12333咨询。"
SOCIAL_SECURITY_UNIT = "\n{name}可以帮忙办理（{services}）{phone}。"
SOCIAL_SECURITY_UNIT_PHONE = "，电话{phone}"
# Alliance units whose services mention one of these help with social security.
SOCIAL_SECURITY_SERVICE_WORDS = ("社保", "医保", "社会保险")

# Community activities (event_query): every kind of event, not just job fairs.
EVENTS_HEADER = "最近的社区活动："
EVENTS_OF_KIND_HEADER = "最近的{kind}："
EVENTS_NONE_OF_KIND = "最近没有{kind}安排，其他社区活动："
EVENTS_FOOTER = "回复「报名 活动编号」报名，例如「报名 {n}」。"
EVENTS_NONE = "最近还没有安排社区活动，有新活动会第一时间通知大家。想参加志愿服务，可以问「怎么报名当志愿者」。"
# Words that say which kind of event a question is about.
EVENT_QUERY_KIND_WORDS = {
    "lecture": ("讲座", "讲堂", "培训", "课程", "上课"),
    "market": ("市集", "集市", "赶集", "摆摊", "义卖", "夜市"),
    "legal_clinic": ("法律", "律师", "普法", "法援"),
    "job_fair": ("招聘", "招工", "岗位"),
    "volunteer": ("志愿活动", "志愿服务活动", "义工活动"),
}
# A question about joining as a volunteer is answered with the volunteer teams.
VOLUNTEER_WORDS = ("志愿者", "志愿队", "志愿服务", "做志愿", "当志愿", "义工")
VOLUNTEER_TEAMS_HEADER = "社区的志愿服务队："
VOLUNTEER_TEAM_LINE = "· {team}（{n}人）{skills}"
VOLUNTEER_TEAM_SKILLS = "：{skills}"
VOLUNTEER_JOIN = "想加入的话回复「人工」，支部联络员会帮你报名。"
VOLUNTEER_EVENTS = "最近的志愿活动："
VOLUNTEER_NO_TEAMS = "社区正在组建志愿服务队。想参加的话回复「人工」留下意向，支部联络员会联系你。"

# The review queue (handlers/review.py): what Sheli did not understand, labelled by people.
# Every intent a message can be labelled with, as the dashboard's select shows it.
REVIEW_INTENT_NAMES = {
    **INTENT_NAMES,
    "greet": "问候",
    "thanks": "感谢",
    "status_query": "查进度",
    "cancel": "取消",
    "rating": "评价",
    "ask_human": "找人工",
    "event_query": "社区活动",
    "out_of_scope": "无关/闲聊",
}
REVIEW_REASON_NAMES = {
    "below_threshold": "没听懂",
    "out_of_scope": "不在服务范围",
    "close": "拿不准",
}
REVIEW_NOT_FOUND = "没有编号为 {id} 的待标注消息。"
REVIEW_UNKNOWN_INTENT = "没有「{intent}」这个意图。可选：{intents}。"
REVIEW_LABELLED = "消息 {id} 已标注为「{name}」，模型会在下一次检查时更新。"
REVIEW_NOTHING = "没有待标注的消息。"
# --- What operators read on the dashboard, in exports and at the command line (issue 15) ------

OUTBOX_STATUS_NAMES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "dead": "发送失败",
}
# Who did something, as the trail shows it (the stored label is "staff:3:张师傅", "operator:admin").
ACTOR_SYSTEM = "系统"
ACTOR_OPERATOR = "运营人员 {name}"
ACTOR_RESIDENT = "住户 {id}"
ACTOR_STAFF = "{role}{name}"
# The SLA clock of an active ticket (handlers/sla.py countdown).
SLA_LEFT = "距{what}时限还剩 {left}"
SLA_OVER = "{what}已超时 {over}"
# Times people read carry the site's offset: "2026-11-23 09:00 (+08:00)".
LOCAL_STAMP = "{time} ({offset})"
TIMES_ARE_LOCAL = "时间均为当地时间（UTC{offset}）"
DURATION_NONE = "—"
# A message without text, as the ticket page's conversation shows it.
CHAT_MESSAGE_KINDS = {
    "image": "［图片］",
    "voice": "［语音］",
    "location": "［位置］",
    "video": "［视频］",
    "event": "［操作菜单］",
}
RATING = "{value}分"

# Operators closing or cancelling a ticket from its page (handlers/tickets.py).
CLOSE_NEED_REASON = "请写上结单原因，例如「住户电话确认已解决」。"
CANCEL_NEED_REASON = "请写上取消原因，例如「重复登记」。"
CANNOT_CANCEL_DONE = "#{n} 当前{status}，不能再取消；需要的话可以结单。"
NOTIFY_CLOSED_BY_OPERATOR = "你的 #{n} 已由{who}结单：{reason}。如果还有问题，直接告诉我就行。"
NOTIFY_CANCELLED_BY_OPERATOR = "你的 #{n} 已由{who}取消：{reason}。如有需要，请重新告诉我。"
NOTIFY_STAFF_CLOSED = "#{n} 已由{who}结单：{reason}，无需再处理。"
NOTIFY_STAFF_CANCELLED = "#{n} 已由{who}取消：{reason}，无需再处理。"
DASHBOARD_CLOSED = "#{n} 已结单。{told}"
DASHBOARD_CANCELLED = "#{n} 已取消。{told}"
DASHBOARD_TOLD = "已通知{who}。"
DASHBOARD_TOLD_RESIDENT = "住户"
DASHBOARD_TOLD_NOBODY = "住户已注销，没有人需要通知。"
DASHBOARD_REPLY_SENT = "已发给 #{n} 的住户，住户的回复会出现在下方对话里。"
DASHBOARD_PHONE_SHOWN = "完整电话已显示，此次查看已记入工单记录。"
DASHBOARD_PHONE_NONE = "#{n} 住户没有留电话，可以在下方给住户发消息。"

# Exports (tickets as CSV/xlsx, the week's summary as xlsx). Time headers name the offset.
EXPORT_TICKET_COLUMNS = {
    "number": "编号",
    "created_at": "登记时间（UTC{offset}）",
    "intent": "类型",
    "urgent": "紧急",
    "status": "状态",
    "role": "负责岗位",
    "assignee": "负责人",
    "location": "地点",
    "building": "楼栋",
    "phone": "电话（已打码）",
    "text": "内容（电话已打码）",
    "sla": "时限",
    "accepted_at": "接单时间（UTC{offset}）",
    "resolved_at": "办结时间（UTC{offset}）",
    "closed_at": "结单/取消时间（UTC{offset}）",
    "resolution": "处理说明",
    "rating": "评分",
    "followup": "回访",
}
EXPORT_YES = "是"
EXPORT_FORMATS = "只能导出 xlsx 或 csv 格式。"
EXPORT_SHEET_TICKETS = "工单"
EXPORT_SHEET_FIGURES = "周报数据"
EXPORT_SHEET_TEXT = "周报原文"
EXPORT_FIGURE_HEADER = ("指标", "数值", "说明")
EXPORT_TICKETS_FILE = "工单"
EXPORT_SUMMARY_FILE = "周报"
# The summary's figures as rows of (name, how to read it); the values come from Summary.
SUMMARY_FIGURES = {
    "week": ("周次", ""),
    "days": ("起止日期", ""),
    "as_of": ("统计时间", ""),
    "new_tickets": ("新收诉求", "本周登记的诉求，含已取消"),
    "cancelled": ("其中取消", ""),
    "counted": ("计入办结率的新收", "本周新收，不含取消"),
    "completed": ("其中已办结", "本周新收中到统计时已办结或结单"),
    "completion_rate": ("办结率", "已办结 ÷ 计入办结率的新收"),
    "responded_in_time": ("按时接单", "本周新收中在接单时限内接单"),
    "response_rate": ("响应率", "按时接单 ÷ 计入办结率的新收"),
    "resolved": ("本周共办结", "本周内办结的工单，含往周诉求"),
    "median_first_response_minutes": ("首次响应中位", "本周新收从登记到接单"),
    "median_resolution_minutes": ("办结用时中位", "本周共办结的工单从登记到办结"),
    "visits_concluded": ("回访", "本周回复或过期的回访"),
    "visits_answered": ("回访回复", ""),
    "visit_no_response": ("回访未回复", "不计入满意"),
    "visit_response_rate": ("回访回复率", "回访回复 ÷ 回访"),
    "solved": ("解决", "回访未说没修好且评分高于2分"),
    "solve_rate": ("解决率", "解决 ÷ 回访回复"),
    "ratings": ("评分人数", ""),
    "satisfied": ("满意", "评分4–5分"),
    "satisfaction_rate": ("满意率", "满意 ÷ 评分人数"),
    "mean_rating": ("平均评分", ""),
    "sla_breaches": ("督办", "本周有超时督办的工单"),
    "escalated": ("报支部书记", "督办升级到二级的工单"),
    "overdue": ("当前超时未办", "统计时仍超过时限的在办工单"),
}
SUMMARY_FIGURE_INTENT = "新收·{name}"
SUMMARY_FIGURE_LOAD = "在办·{name}"
SUMMARY_FIGURE_BUILDING = "诉求集中·{name}"

# The command line (bot/cli): what an operator reads. JSON output keeps its keys and values.
CLI_STAFF_ADDED = "已添加工作人员 #{id} {name}（{role}）"
CLI_BIND_CODE = "请本人在{ttl}内向公众号发送「绑定 {code}」，绑定码只能用一次："
CLI_STAFF_BOUND = "已直接绑定到微信号 {openid}，无需绑定码。"
CLI_STAFF_LINE = "{id:>3}  {role}  {name}  在办{load}件（{state}）"
CLI_STAFF_BOUND_STATE = "已绑定"
CLI_STAFF_UNBOUND_STATE = "待绑定"
CLI_STAFF_INACTIVE_STATE = "，已停用"
CLI_STAFF_NONE = "还没有工作人员。用 sheli staff add 添加。"
CLI_STAFF_REACTIVATED = "工作人员 #{id} {name} 已恢复接单。"
CLI_STAFF_DEACTIVATED = "工作人员 #{id} {name} 已停用，不再分派新工单。"
CLI_NO_TICKETS = "没有符合条件的工单。"
CLI_TICKET_LINE = "#{n:<5} {created}  {status}  {intent}  {assignee}  {location}  {text}{flags}"
CLI_TICKET_OVERDUE = "  [{sla}]"
CLI_TICKET_HEAD = "#{n} {intent} {status}{urgent} → {assignee}"
CLI_TICKET_TEXT = "  内容：{text}"
CLI_TICKET_FACTS = "  地点：{location}  电话：{phone}  评分：{rating}"
CLI_TICKET_SLA = "  时限：{sla}"
CLI_TICKET_TRAIL = "  记录："
CLI_TICKET_EVENT = "  {at}  {event}  {actor}  {detail}"
CLI_URGENT = "（紧急）"
CLI_NOBODY = "待分派"
CLI_NONE = "—"
CLI_BAD_STATUS = "没有「{status}」这个状态。可选：{choices}"
CLI_BAD_TICKET_NUMBER = "工单编号应是数字，例如 12 或 #12"
CLI_EXPORTED = "已导出 {n} 件工单到 {path}"
CLI_XLSX_TO_TERMINAL = (
    "xlsx 是二进制文件，不能打印到终端：请用 --output 文件名，或把输出重定向到文件"
)
CLI_SUMMARY_SHOWING = "{week}（{first} 至 {last}）的周报{which}："
CLI_SUMMARY_LAST_FULL = "（上一整周）"
CLI_SUMMARY_EMPTY = (
    "这一周没有任何诉求。要看本周（{current}）至今的情况：sheli summary --week {current}"
)
CLI_SUMMARY_SAVED = "已把 {week} 的周报保存到 {path}"
CLI_SUMMARY_NEEDS_OUTPUT = "--format xlsx 需要 --output 文件名"
CLI_SUMMARY_NO_RECIPIENTS = (
    "summary.recipients 为空：请在 config.yaml 或 SHELI_SUMMARY__RECIPIENTS 里写上接收人的 openid"
)
CLI_SUMMARY_QUEUED = "已排队发给 {n} 位接收人（每周每人最多一次）；发送结果：成功 {sent}，待重试 {retry}，失败 {dead}"
CLI_OUTBOX_COUNTS = "{name} {n}"
CLI_OUTBOX_DEAD = "发送失败 #{id} 发给 {recipient}（尝试 {attempts} 次）：{error}"
CLI_OUTBOX_RETRIED = "消息 #{id} 已重新排队发送。"
CLI_OUTBOX_NO_MESSAGE = "没有编号为 {id} 的消息。"
CLI_OUTBOX_NOT_DEAD = "消息 #{id} 的状态是{status}，不是发送失败，不用重发。"
CLI_EVENTS_NONE = "没有活动。"
CLI_EVENT_LINE = "活动{id:<4} {kind}  {start}  {title}  地点：{place}  报名{confirmed}{seats}，候补{waiting}{state}"
CLI_EVENT_CANCELLED = "（已取消）"
CLI_EVENT_PAST = "（已结束）"
CLI_IMPORTED = "已从 {path} 导入{what}：{result}"
CLI_IMPORT_REFUSED = "{path}：有 {n} 个问题，整个文件都没有导入"

# Imports (handlers/importing): one line per problem, numbered as the operator sees the file.
IMPORT_ROW = "第{n}行：{problem}"
IMPORT_SECTION_ROW = "{section}第{n}行：{problem}"
IMPORT_SECTIONS = {"alliance_units": "共建单位", "volunteers": "志愿者"}
IMPORT_WHAT = {
    "events": "活动",
    "rooms": "房间",
    "alliance_units": "共建单位",
    "volunteers": "志愿者",
}
IMPORT_RESULT = "新增 {created} 条，更新 {updated} 条"
IMPORT_RESULT_NEW = "，其中{items}"
IMPORT_RESULT_NEW_ITEM = "新{what} {n} 个"
IMPORT_DETAIL_NAMES = {"buildings": "楼栋", "alliance units": "共建单位", "volunteers": "志愿者"}
IMPORT_CANNOT_READ = "读不了文件 {name}：请确认它是 UTF-8 编码的文本文件"
IMPORT_CSV_NO_HEADER = "{name}：CSV 文件的第一行应是表头（列名）"
IMPORT_BAD_YAML = "{name}：不是有效的 YAML 文件（第{line}行附近有格式错误）"
IMPORT_NO_DATA = "文件里没有{what}"
IMPORT_NOT_A_LIST = "文件内容应是{what}的列表（每项一组字段）"
IMPORT_NOT_A_ROW = "这一行应是一组字段（如 title: …），现在是{value!r}"
IMPORT_MISSING = "缺少{name}"
IMPORT_EMPTY = "{name}为空"
IMPORT_TOO_LONG = "{name}超过{max}个字"
IMPORT_NOT_A_COUNT = "{name}必须是不小于0的整数，现在是{value!r}"
IMPORT_NEGATIVE = "{name}不能小于0，现在是{value}"
IMPORT_NO_TIME_OF_DAY = "{name}{value!r}没有写几点几分"
IMPORT_NOT_A_TIME = (
    "{name}{value!r}不是有效的时间，请写成 2026-11-28 09:00 或 2026-11-28T09:00+08:00"
)
IMPORT_BAD_KIND = "类型{value!r}不在可选范围内：{kinds}"
IMPORT_ENDS_BEFORE = "结束时间必须晚于开始时间"
IMPORT_SAME_EVENT = "与第{other}行是同一个活动"
IMPORT_SAME_ROW = "与第{other}行重复"
IMPORT_ROOM_TWICE = "{label}与第{other}行重复"
IMPORT_BAD_BUILDING = "楼栋{value!r}不是3栋、B区2幢、6号楼这样的楼栋名"
IMPORT_BAD_ROOM = "房间{value!r}不是502这样的房间号"
IMPORT_OPENINGS_NOT_A_LIST = "岗位应是列表，每项写单位、岗位、薪资、人数"
IMPORT_OPENING_NOT_A_MAPPING = "第{position}个岗位应写成单位、岗位、薪资、人数"
IMPORT_OPENING_EMPTY = "第{position}个岗位要写单位或岗位名称"
IMPORT_OPENING_COUNT = "第{position}个岗位的人数"
IMPORT_NOT_RESOURCES = "文件应包含 alliance_units（共建单位）和/或 volunteers（志愿者）两个列表"
IMPORT_BAD_FLAG = "是否在岗（active）只能填是或否，现在是{value!r}"
IMPORT_FIELD_NAMES = {
    "kind": "类型",
    "title": "名称",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "place": "地点",
    "capacity": "名额",
    "room_capacity": "容量",
    "building": "楼栋",
    "room": "房间号",
    "name": "名称",
    "volunteer_name": "姓名",
    "team": "服务队",
    "time": "时间",
}

# --- Findings from use (notes/findings.md): the conversation and its wording ------------------

# A message that is only a place, with nothing open: what is wrong there?
ASK_WHAT_AT_PLACE = "{place}怎么了？请说说遇到了什么问题，例如「热水器坏了」。"
# A public facility reported without a place: filed at the building of the registered room.
LOCATION_FROM_BUILDING = "\n地点按你住的楼登记为{place}；不在这里的话，请告诉我具体位置。"
# Chasing a ticket that is still open ("灯还是没修好啊") joins it instead of opening another.
CHASE_JOINED = "#{n}（{summary}）还在办理中，你的话已转给{assignee}。如果是另一个问题，请说清楚在哪里、什么问题。"
CHASE_JOINED_NOBODY = (
    "#{n}（{summary}）还在办理中，你的话已记上。现在暂时没有在岗的工作人员，有人上岗后会看到。"
)
NOTIFY_RESIDENT_CHASED = "【#{n} 住户催办】{text}"
# The cancel list is a question: a bare number answers it.
CANCEL_NOT_ON_LIST = "#{n} 不在你可以取消的工单里。要取消哪一单？请回复编号：\n{tickets}"
# A follower of someone else's ticket stops following it; the owner's ticket goes on.
UNFOLLOWED = "好的，你已不再跟进 #{n}，原报修人的工单仍在办理中，不会再通知你。"
# A 确认 with nothing waiting for it.
NOTHING_TO_CONFIRM = "现在没有需要你确认的事。有问题直接告诉我就行。"
# Nobody on duty: an urgent ticket's resident also hears where to call.
UNASSIGNED_URGENT_ADVICE = "\n危急时请直接拨打110；着火或燃气泄漏请拨打119。"
# Tickets that waited for somebody on duty (handlers/tickets.py assign_waiting).
NOTIFY_ASSIGNED_LATER = "你的 #{n} 已安排给{assignee}处理。"
NOTIFY_TRANSFERRED_WAITING = (
    "你的 #{n} 已转给{wanted}，现在暂时没有在岗的人员，有人上岗后会马上安排，请稍候。"
)
# What residents added (补充, answers to staff), in the notice of a ticket's new assignee.
TASK_ADDITIONS = "\n住户补充：\n{lines}"
TASK_ADDITION_LINE = "· {text}"
# Event questions that name days ("周末有什么活动", "明天有讲座吗"): only those days are listed.
# Checked in this order ("下周末" before "周末" before "下周"; "这周末" is the weekend).
EVENT_PERIOD_WORDS = {
    "next_weekend": ("下周末", "下个周末"),
    "weekend": ("周末", "礼拜六礼拜天", "星期六星期天"),
    "next_week": ("下周", "下个星期", "下星期", "下礼拜", "下个礼拜"),
    "saturday": ("周六", "星期六", "礼拜六"),
    "sunday": ("周日", "星期天", "星期日", "礼拜天", "礼拜日"),
    "this_week": ("这周", "本周", "这个星期", "这星期", "这礼拜", "这个礼拜", "这一周"),
    "today": ("今天", "今日", "今晚"),
    "tomorrow": ("明天", "明日", "明晚"),
    "day_after": ("后天",),
}
EVENT_PERIOD_NAMES = {
    "next_weekend": "下周末",
    "weekend": "这个周末",
    "next_week": "下周",
    "saturday": "周六",
    "sunday": "周日",
    "this_week": "这周",
    "today": "今天",
    "tomorrow": "明天",
    "day_after": "后天",
}
EVENTS_ANY_KIND = "社区活动"
EVENTS_IN_PERIOD_HEADER = "{period}的{kind}："
EVENTS_NONE_IN_PERIOD = "{period}没有安排{kind}。"
EVENTS_SOONEST_HEADER = "最近的{kind}："

# `sheli chat` (bot/chat.py) and the command line's refusals.
CHAT_HELP = """输入消息后回车，下面就是 Sheli 的回复。
  （直接回车）      查看 Sheli 主动发给你的新消息
  /loc 3栋502       发送位置（和微信的「位置」一样）
  /image 文件路径    发送一张图片（PNG、JPEG、GIF、WEBP 或 BMP）
  /click 按钮       按菜单按钮：{buttons}
  /sub              关注公众号（收到欢迎语）
  /inbox            再看一遍收到的全部消息
  /help             显示这段说明
  /quit             退出"""
CHAT_HELP_BUTTON = "{key}（{label}）"
CHAT_START = "正在以 {openid} 的身份和 {url} 对话。/help 查看指令，/quit 退出。"
CHAT_EARLIER = "（收件箱里有 {n} 条之前的消息，最近几条：）"
CHAT_NO_REPLY = "（没有回复）"
CHAT_REFUSED_SIGNATURE = "Sheli 拒绝了签名：请用服务端的 wechat.token"
CHAT_HTTP_ERROR = "Sheli 返回 HTTP {status}，请查看服务端日志"
CHAT_CANNOT_READ = "读不了 {path}（{error}）"
CHAT_NO_LOCAL_MEDIA = "那里没有本地图片上传：sheli chat 需要服务运行在本地模式"
CHAT_UPLOAD_FAILED = "上传图片：HTTP {status}"
CHAT_NO_LOCAL_INBOX = "那里没有本地收件箱：sheli chat 需要服务运行在本地模式"
CHAT_INBOX_FAILED = "收件箱：HTTP {status}"
CHAT_UNREACHABLE = "连不上 {url} 的 Sheli（{error}），sheli serve 在运行吗？"
CLI_ERROR = "错误：{message}"
# 登记 a room that is not on the imported room list: kept, but the resident is asked to check.
ROOM_NOT_LISTED = "\n这个房间不在登记的房间表里，请核对楼栋和房间号；没写错的话不用理会。"

# Findings on the dashboard side (transfers, the staff page, pages on a phone, charts).
# A transfer that changes nothing (the same role and person, or still nobody) is refused.
TRANSFER_SAME = "#{n} 已经在{assignee}手上，不用转派。"
TRANSFER_SAME_WAITING = "#{n} 已经在等{role}，暂无在岗人员，有人上岗后会派出。"
TRANSFER_CHOOSE_ROLE = "#{n} 转派给哪个岗位？可选：{roles}。"
# HTTP errors a browser meets on a page (bot/dashboard/errors.py http_error_page).
HTTP_ERROR_PAGES = {
    400: "请求有误，请返回上一页重试。",
    403: "没有权限打开这个页面。",
    404: "没有这个页面，请从菜单进入。",
    405: "这个地址不能直接打开，请回到上一页，用页面上的按钮操作。",
    413: "上传的内容太大了，请换一个小一点的文件。",
    429: "操作太频繁了，请稍后再试。",
}
HTTP_ERROR_OTHER = "页面出错了（错误码 {code}），请稍后再试。"
# 停用 asks first (the dashboard's confirm step), and says who would be left on duty.
STAFF_DEACTIVATE_ASK = "停用{role}{name}？"
STAFF_DEACTIVATE_EFFECT = "停用后不再给{name}分派新工单，{name}也不能再在公众号里处理工单。"
STAFF_DEACTIVATE_HOLDS = "{name}手上还有{n}件在办工单，不会自动转走：停用后请到工单页逐件转派。"
STAFF_LAST_OF_ROLE = "{name}是目前唯一在岗的{role}。停用后，新的{role}工单会先交给{fallback}。"
STAFF_LAST_OF_ROLE_NOBODY = (
    "{name}是目前唯一在岗的{role}，支部联络员也没有人在岗。停用后，新的{role}工单将无人接收，"
    "直到有人上岗。"
)
STAFF_LAST_LIAISON = (
    "{name}是唯一在岗的{role}！停用后，人工服务、困难帮扶，以及没有人在岗的岗位的工单都将无人接收，"
    "超时督办也没有人收到，直到有新的{role}上岗。请先添加或恢复一位{role}。"
)
DASHBOARD_STAFF_ALREADY_INACTIVE = "{name} 已经停用了。"
# The overview's resolution chart: minutes while the medians are small, else hours.
UNIT_MINUTES = "分钟"
UNIT_HOURS = "小时"
OVERVIEW_RESOLUTION_CAPTION = "办结用时与首次响应（中位数，{unit}）"
# An event's start and end in one style (the dashboard's event page).
EVENT_SPAN_SAME_DAY = "{start}–{end}"
EVENT_SPAN = "{start} 至 {end}"


# --- many communities (issue 13) --------------------------------------------------------------

ASK_COMMUNITY = "你住在哪个小区？回复序号或名称：\n{choices}"
COMMUNITY_CHOICE = "{i}. {name}"
COMMUNITY_NOTED = "好的，记下了：你住在{name}。"
COMMUNITY_NOT_RECOGNISED = "没认出是哪个小区，先按本站登记，工作人员会和你核实。"
WELCOME_BACK_COMMUNITY = "欢迎回到{name}！有事直接发文字或语音告诉我。" + MENU
COMMUNITY_TAG = "【{name}】"
NOTIFY_POOL_REASON = "\n（{community}暂无{role}，由全站人员接手。）"
COMMUNITY_SITE_POOL = "全站"
COMMUNITY_UNKNOWN = "没有小区「{key}」。已有：{known}"
COMMUNITY_BAD_KEY = (
    "小区代号「{key}」不对：用小写英文字母开头，只含字母、数字、-、_，最多32个字符。"
)
COMMUNITY_BAD_NAME = "小区名称最多64个字。"
COMMUNITY_BAD_SECRETARY = "书记的openid最多64个字符。"
COMMUNITY_NAME_NEEDED = "新小区要有名称：--name 张舍家园"
COMMUNITY_ADDED = "已添加小区 {key}（{name}）。"
COMMUNITY_UPDATED = "已更新小区 {key}（{name}）。"
COMMUNITY_NO_BUILDING = "没有楼栋「{name}」。"
COMMUNITY_TICKET_MOVED = "{building}划入{new}，工单随楼栋从{old}转入{new}"
COMMUNITY_BUILDING_MOVED = (
    "{building} 已从 {old} 划入 {new}；在办工单留在原小区（要一起转，加 --move-open）。"
)
COMMUNITY_BUILDING_MOVED_WITH_TICKETS = "{building} 已从 {old} 划入 {new}，{n} 件在办工单一起转入。"

# --- communities: the command line, QR codes and imports (issue 13) ----------------------------

CLI_COMMUNITY_LINE = (
    "{key}  {name}  {state}  书记{secretaries}人  楼栋{buildings}  工作人员{staff}  居民{residents}"
)
CLI_COMMUNITY_ACTIVE = "启用"
CLI_COMMUNITY_INACTIVE = "已停用"
CLI_COMMUNITY_NONE = "还没有小区。用 sheli community add KEY --name 名称 添加。"
CLI_STAFF_COMMUNITY = "  {community}"  # after a staff line, on a site of several communities
CLI_QRCODE_SAVED = "已生成{name}（{key}）的永久二维码，图片存到 {path}"
CLI_QRCODE_SCENE = "场景值：{scene}"
CLI_QRCODE_URL = "二维码内容：{url}"
CLI_QRCODE_LOCAL = (
    "本地模式（没有设置 wechat.app_id），不生成二维码。\n"
    "{name}（{key}）的场景值：{scene}\n"
    "设置 wechat.app_id 和 app_secret 后再运行本命令，就会生成带这个场景值的永久二维码。"
    "居民扫码关注（subscribe）或已关注后再扫（SCAN），就归入{name}，并按小区名称欢迎；"
    "场景值对不上任何启用的小区时，按没有二维码处理（问一次住在哪个小区）。"
)
CLI_QRCODE_INACTIVE = "小区 {key}（{name}）已停用，扫它的二维码不会归入它。先用 sheli community add {key} --active 恢复。"
CLI_QRCODE_FAILED = "微信没有生成二维码（{error}），什么也没保存。"
CLI_QRCODE_CANNOT_SAVE = "存不了二维码图片 {path}（{error}）。"
IMPORT_BUILDING_ELSEWHERE = (
    "{building}属于小区 {current}，不是 {key}；导入不会改楼栋的小区，"
    "要划过去请用 sheli community move-building {building} {key}"
)
IMPORT_BUILDING_TWO_COMMUNITIES = "{building}在第{other}行写的是小区 {other_key}，这里是 {key}"

# --- communities: summaries per community and for the site (issue 13) ------------------------

# The site comparison (handlers/site_summary.py): one WeChat text for summary.recipients, a row
# per community, narrow enough for a phone.
SITE_SUMMARY = {
    "title": "【{site}各小区周报】{week}（{first}—{last}）",
    "header": "小区｜新增｜办结率｜响应率｜满意率｜超时",
    "row": "{name}｜{new}｜{completion}｜{response}｜{satisfaction}｜{overdue}",
    "total": "全站",
    "more": "……另有{n}个小区未列出（按超时多少排序），详见看板。",
    "note": "办结率、响应率按本周新增（不含取消）计；满意率按本周回访评分计；超时为此刻在办超时件数。",
    "link": "详情：{url}/dashboard/",
}
SITE_SUMMARY_COLUMNS = {
    "name": "小区",
    "new": "本周新增",
    "completion": "办结率",
    "response": "响应率",
    "satisfaction": "满意率",
    "overdue": "超时",
    "open": "在办",
}
SITE_CHARTS = {
    "new": "各小区本周新增",
    "completion": "各小区本周办结率",
}
CLI_SUMMARY_COMMUNITY_WITH = "--community 不能和 {option} 一起用：发送和导出都按全站进行。"
CLI_SUMMARY_SITE_FOLLOWS = "\n—— 各小区对比 ——"


# --- communities: the dashboard per community (issue 13) ---------------------------------------

DASHBOARD_COMMUNITY_UNKNOWN = "没有小区「{key}」，显示的是全部小区。"
DASHBOARD_STAFF_SITE_WIDE = "{name}属于全站人员，由全站管理员管理。"
DASHBOARD_SITE_ONLY = "这一页是全站的，你的账号只管一个小区。"
