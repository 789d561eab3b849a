"""Build the health vocabulary the PHI detector looks up: ICD-10-CM condition names (from the
``simple-icd-10-cm`` package's code list) plus plain-language conditions and common generic
drug names we list here. Written to ``streams/classify/models/health_terms.json`` by
``train/train.py`` (sorted, so the file and its hash are reproducible).
"""

from __future__ import annotations

import re

# Words that start an ICD category description without naming a condition.
_SKIP_START = ("other", "unspecified", "contact", "encounter", "person", "occupant", "presence", "problems", "status",
               "sequelae", "complications", "abnormal", "findings", "follow-up", "family", "personal", "history",
               "pedestrian", "pedal", "car", "bus", "animal", "exposure", "need", "supervision", "reasons", "factors",
               "underdosing", "poisoning", "adverse", "injury", "open", "superficial", "burn", "corrosion", "frostbite",
               "dislocation", "fracture", "crushing", "amputation", "effects", "maternal", "newborn", "disorders",
               "diseases", "symptoms", "signs", "conditions", "certain", "symptomatic", "congenital")
_SKIP_WORD = {"with", "without", "site", "subsequent", "in", "due", "of", "not", "elsewhere", "classified", "specified",
              "to", "by", "for", "the", "from", "other", "unspecified", "mild", "moderate", "severe", "acute", "chronic",
              "part", "parts", "region", "tissue", "substances", "agents", "organs", "organism", "cycle", "level",
              "factors", "related", "heart", "skin"}
_MEDICAL_WORD = re.compile(r"(?:itis|osis|emia|aemia|oma|pathy|plegia|paresis|algia|ism|rrhea|rrhoea|uria|philia|trophy|"
                           r"ectasia|cele|iasis|asis|esis|ic fever|pox|rubella|rabies|measles|mumps|tetanus|plague|"
                           r"cholera|scabies|gout|asthma|malaria|leprosy|syphilis|dementia|delirium|psoriasis|glaucoma|"
                           r"hernia|cataract|obesity|anorexia|bulimia|autism|insomnia|migraine|epilepsy|stroke|ulcer|"
                           r"schizophrenia|hemorrhoids|haemorrhoids|acne|rosacea|urticaria|vitiligo|alopecia)$")
_BRITISH = [("hemorrhag", "haemorrhag"), ("anemi", "anaemi"), ("edema", "oedema"), ("esophag", "oesophag"),
            ("leukemi", "leukaemi"), ("diarrhea", "diarrhoea"), ("tumor", "tumour"), ("pediatric", "paediatric"),
            ("hemophilia", "haemophilia"), ("estrogen", "oestrogen")]

PLAIN_CONDITIONS = """
flu influenza cold sore common cold sore throat strep throat tonsillitis ear infection chest infection sinusitis
chickenpox measles mumps shingles covid covid-19 long covid pneumonia bronchitis asthma copd emphysema
hay fever allergies allergy eczema psoriasis acne rosacea dermatitis hives
migraine migraines headaches epilepsy seizures stroke mini-stroke tia dementia alzheimer's parkinson's
multiple sclerosis ms motor neurone disease als autism adhd dyslexia anxiety depression panic attacks ptsd
bipolar disorder schizophrenia ocd eating disorder anorexia bulimia insomnia sleep apnoea sleep apnea burnout
diabetes type 1 diabetes type 2 diabetes prediabetes gestational diabetes hypertension high blood pressure
low blood pressure high cholesterol heart attack heart failure angina arrhythmia atrial fibrillation afib
heart murmur anaemia anemia sickle cell thalassaemia haemophilia
cancer breast cancer prostate cancer lung cancer bowel cancer colon cancer skin cancer melanoma leukaemia leukemia
lymphoma tumour tumor brain tumour cyst
arthritis osteoarthritis rheumatoid arthritis gout osteoporosis back pain slipped disc sciatica
torn acl torn meniscus broken arm broken leg broken wrist fractured wrist sprained ankle whiplash concussion
tennis elbow carpal tunnel frozen shoulder hernia
ibs crohn's crohn's disease ulcerative colitis coeliac disease celiac disease gastritis reflux gerd heartburn
stomach ulcer gallstones kidney stones appendicitis hepatitis cirrhosis fatty liver
uti urinary tract infection kidney infection chronic kidney disease kidney failure incontinence
endometriosis pcos polycystic ovary syndrome menopause infertility miscarriage pregnancy pregnant
erectile dysfunction chlamydia gonorrhoea gonorrhea syphilis herpes hiv aids hpv
hypothyroidism hyperthyroidism thyroid cancer graves' disease hashimoto's lupus
glaucoma cataracts cataract macular degeneration conjunctivitis pink eye
tooth decay cavity cavities gum disease gingivitis periodontitis abscess tooth abscess impacted wisdom tooth
wisdom tooth root canal toothache
croup bronchiolitis hand foot and mouth scarlet fever whooping cough colic jaundice tonsillitis
obesity malnutrition dehydration food poisoning norovirus sepsis meningitis tuberculosis malaria lyme disease
""".split("\n")

DRUGS = """
paracetamol acetaminophen ibuprofen naproxen aspirin codeine tramadol morphine oxycodone fentanyl
amoxicillin penicillin flucloxacillin co-amoxiclav azithromycin clarithromycin doxycycline ciprofloxacin
nitrofurantoin trimethoprim cefalexin metronidazole clindamycin
metformin insulin gliclazide sitagliptin empagliflozin dapagliflozin semaglutide ozempic wegovy liraglutide
levothyroxine carbimazole
atorvastatin simvastatin rosuvastatin pravastatin ezetimibe
amlodipine lisinopril ramipril losartan candesartan bisoprolol atenolol propranolol metoprolol
bendroflumethiazide furosemide spironolactone
warfarin apixaban rivaroxaban edoxaban dabigatran clopidogrel heparin
salbutamol albuterol ventolin beclometasone budesonide fluticasone montelukast tiotropium
omeprazole lansoprazole pantoprazole esomeprazole ranitidine famotidine
sertraline citalopram escitalopram fluoxetine paroxetine venlafaxine duloxetine mirtazapine amitriptyline
bupropion trazodone lithium quetiapine olanzapine risperidone aripiprazole haloperidol
diazepam lorazepam alprazolam clonazepam zopiclone zolpidem
methylphenidate ritalin lisdexamfetamine adderall atomoxetine
lamotrigine levetiracetam valproate sodium valproate carbamazepine gabapentin pregabalin topiramate phenytoin
prednisolone prednisone hydrocortisone dexamethasone
methotrexate adalimumab humira infliximab etanercept rituximab tamoxifen letrozole anastrozole
allopurinol colchicine febuxostat
cetirizine loratadine fexofenadine chlorphenamine epipen adrenaline epinephrine
ferrous sulfate ferrous sulphate folic acid vitamin d b12 injections
sumatriptan rizatriptan propranolol
finasteride tamsulosin sildenafil tadalafil
contraceptive pill the pill microgynon levonorgestrel
isotretinoin roaccutane
hydroxychloroquine azathioprine mesalazine ciclosporin tacrolimus
donepezil memantine levodopa co-careldopa
buprenorphine methadone naloxone
oseltamivir tamiflu acyclovir aciclovir valaciclovir
chemotherapy chemo radiotherapy dialysis
""".split("\n")


def _variants(term: str) -> set[str]:
    out = {term}
    for us, gb in _BRITISH:
        if us in term:
            out.add(term.replace(us, gb))
    return out


def icd_terms() -> set[str]:
    import simple_icd_10_cm as icd

    terms: set[str] = set()
    for code in icd.get_all_codes(with_dots=True):
        if not icd.is_category(code) or code[0] in "STUVWXYZP":
            continue
        desc = icd.get_description(code).lower()
        for part in re.split(r",| and | or |\(|\[", desc):
            part = part.strip(" )]")
            words = part.split()
            if not words or len(words) > 4 or words[0] in _SKIP_START or len(part) < 4:
                continue
            if words[0] in _SKIP_WORD or words[-1] in _SKIP_WORD:
                continue
            if len(words) == 1 and not _MEDICAL_WORD.search(part):
                continue
            part = re.sub(r"\s+(?:diseases?|disorders?|syndromes?|infections?)$", lambda m: m.group(0), part)
            terms |= _variants(part)
    return terms


def build_terms() -> list[str]:
    terms = icd_terms()
    for block in PLAIN_CONDITIONS + DRUGS:
        for word in block.split():
            terms |= _variants(word)
    # The plain lists are whitespace-separated; multi-word entries are kept by the ICD pass or
    # appear below as explicit phrases.
    phrases = [
        "cold sore", "common cold", "sore throat", "strep throat", "ear infection", "chest infection", "hay fever",
        "panic attacks", "eating disorder", "sleep apnoea", "sleep apnea", "type 1 diabetes", "type 2 diabetes",
        "gestational diabetes", "high blood pressure", "low blood pressure", "high cholesterol", "heart attack",
        "heart failure", "atrial fibrillation", "heart murmur", "sickle cell", "breast cancer", "prostate cancer",
        "lung cancer", "bowel cancer", "colon cancer", "skin cancer", "brain tumour", "rheumatoid arthritis",
        "back pain", "slipped disc", "torn acl", "torn meniscus", "broken arm", "broken leg", "broken wrist",
        "fractured wrist", "sprained ankle", "tennis elbow", "carpal tunnel", "frozen shoulder", "crohn's disease",
        "ulcerative colitis", "coeliac disease", "celiac disease", "stomach ulcer", "kidney stones", "fatty liver",
        "urinary tract infection", "kidney infection", "chronic kidney disease", "kidney failure",
        "polycystic ovary syndrome", "erectile dysfunction", "graves' disease", "macular degeneration", "pink eye",
        "tooth decay", "gum disease", "tooth abscess", "impacted wisdom tooth", "wisdom tooth", "root canal",
        "scarlet fever", "whooping cough", "food poisoning", "lyme disease", "multiple sclerosis", "motor neurone disease",
        "bipolar disorder", "long covid", "mini-stroke", "ferrous sulfate", "ferrous sulphate", "folic acid",
        "vitamin d", "b12 injections", "sodium valproate", "the pill", "contraceptive pill", "insulin glargine",
        "hand foot and mouth",
    ]
    terms |= set(phrases)
    # Single tokens split from the phrase lists that are not conditions on their own.
    terms -= {"cold", "sore", "throat", "ear", "infection", "chest", "hay", "fever", "attacks", "disorder", "sleep",
              "type", "1", "2", "high", "low", "blood", "pressure", "heart", "attack", "failure", "cell", "cancer",
              "pain", "back", "disc", "slipped", "torn", "broken", "arm", "leg", "wrist", "fractured", "sprained",
              "ankle", "elbow", "tennis", "carpal", "tunnel", "frozen", "shoulder", "disease", "stomach", "kidney",
              "stones", "fatty", "liver", "urinary", "tract", "chronic", "polycystic", "ovary", "syndrome", "macular",
              "pink", "eye", "tooth", "decay", "gum", "wisdom", "root", "canal", "scarlet", "whooping", "cough", "food",
              "poisoning", "lyme", "multiple", "motor", "neurone", "long", "mini-stroke", "ferrous", "sulfate",
              "sulphate", "folic", "acid", "vitamin", "d", "b12", "injections", "sodium", "the", "pill", "hand", "foot",
              "and", "mouth", "graves'", "ms", "pregnant", "cyst", "colic", "cavity", "common", "colon", "atrial",
              "fibrillation", "bowel", "brain", "breast", "lung", "prostate", "thyroid", "rheumatoid", "sickle",
              "meniscus", "acl", "degeneration", "dysfunction", "erectile", "gestational", "impacted", "contraceptive",
              "eating", "panic", "bipolar", "sclerosis", "ulcerative", "strep", "als", "tia", "aids", "ocd", "ibs",
              "lithium", "murmur", "valproate", "coeliac", "celiac", "insulin"}
    terms |= {"insulin", "lithium carbonate", "bipolar disorder", "ibs", "ptsd", "ocd", "coeliac disease",
              "celiac disease", "heart murmur", "sodium valproate", "the pill"}
    return sorted(t for t in terms if t)
