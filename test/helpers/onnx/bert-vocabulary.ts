/**
 * The WordPiece vocabulary of the generated test models: common English words plus frequent words of scientific
 * abstracts, so ordinary text tokenizes into whole words, and affixes so unknown words split as real WordPiece does.
 */
// biome-ignore format: a word list, wrapped by hand
export const WORDS = `
the of and to a in is it you that he was for on are with as i his they be at one have this from or had by not
but what some we can out other were all there when up use your how said an each she which do their time if will
way about many then them write would like so these her long make thing see him two has look more day could go come
did number sound no most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every good me give our under
name very through just form sentence great think say help low line differ turn cause much mean before move right boy
old too same tell does set three want air well also play small end put home read hand port large spell add even land
here must big high such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found answer school grow study
still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard start
might story saw far sea draw left late run don't while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter until mile river
car feet care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut
sure watch color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind question happen complete
ship area half rock order fire south problem piece told knew pass since top whole king space heard best hour better
true during hundred five remember step early hold west ground interest reach fast verb sing listen six table travel
less morning ten simple several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait
plan figure star box noun field rest correct able pound done beauty drive stood contain front teach week final gave
green oh quick develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply
nothing course stay wheel full force blue object decide surface deep moon island foot system busy test record boat
common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow
tire bring yes distant fill east paint language among grand ball yet wave drop heart am present heavy dance engine
position arm wide sail material size vary settle speak weight general ice matter circle pair include divide syllable
felt perhaps pick sudden count square reason length represent art subject region energy hunt probable bed brother egg
ride cell believe fraction forest sit race window store summer train sleep prove lone leg exercise wall catch mount
wish sky board joy winter sat written wild instrument kept glass grass cow job edge sign visit past soft fun bright
gas weather month million bear finish happy hope flower clothe strange gone jump baby eight village meet root buy
raise solve metal whether push seven paragraph third shall held hair describe cook floor either result burn hill safe
cat century consider type law bit coast copy phrase silent tall sand soil roll temperature finger industry value fight
lie beat excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring observe
child straight consonant nation dictionary milk speed method organ pay age section dress cloud surprise quiet stone
tiny climb cool design poor lot experiment bottom key iron single stick flat twenty skin smile crease hole trade melody
trip office receive row mouth exact symbol die least trouble shout except wrote seed tone join suggest clean break lady
yard rise bad blow oil blood touch grew cent mix team wire cost lost brown wear garden equal sent choose fell fit flow
fair bank collect save control decimal gentle woman captain practice separate difficult doctor please protect noon
whose locate ring character insect caught period indicate radio spoke atom human history effect electric expect crop
modern element hit student corner party supply bone rail imagine provide agree thus capital won't chair danger fruit
rich thick soldier process operate guess necessary sharp wing create neighbor wash bat rather crowd corn compare poem
string bell depend meat rub tube famous dollar stream fear sight thin triangle planet hurry chief colony clock mine tie
enter major fresh search send yellow gun allow print dead spot desert suit current lift rose continue block chart hat
sell success company subtract event particular deal swim term opposite wife shoe shoulder spread arrange camp invent
cotton born determine quart nine truck noise level chance gather shop stretch throw shine property column molecule
select wrong gray repeat require broad prepare salt nose plural anger claim continent oxygen sugar death pretty skill
women season solution magnet silver thank branch match suffix especially fig afraid huge sister steel discuss forward
similar guide experience score apple bought led pitch coat mass card band rope slip win dream evening condition feed
tool total basic smell valley nor double seat arrive master track parent shore division sheet substance favor connect
post spend chord fat glad original share station dad bread charge proper bar offer segment slave duck instant market
degree populate chick dear enemy reply drink occur support speech nature range steam motion path liquid log meant
quotient teeth shell neck data database index query document documents search retrieval answer answers model models
embedding embeddings vector vectors token tokens text texts file files chunk chunks store local knowledge base server
client network user users service services request response error errors value values function functions library
software computer code program programs version update install configure configuration option options default memory
disk cache page pages report reports information available support supported include includes including provides
using used uses based across within without however therefore although because whether between among through during
patients patient clinical study studies trial trials treatment treatments disease diseases cancer tumor tumors cells
cellular protein proteins gene genes genetic expression expressed mutation mutations dna rna mrna receptor receptors
signaling pathway pathways activity activation inhibition inhibitor inhibitors levels level increased decreased
increase decrease higher lower risk risks associated association analysis analyses results significant significantly
compared control controls mice mouse human humans tissue tissues blood plasma serum brain heart liver kidney lung
immune infection infections virus viral bacteria bacterial vaccine vaccines drug drugs dose doses therapy therapies
response responses effect effects role roles mechanism mechanisms function growth factor factors model population
populations age years year women men children adults cohort data evidence trial randomized outcome outcomes mortality
incidence prevalence rate rates ratio ratios odds hazard confidence interval intervals cases case group groups
development developed identify identified show showed shown demonstrate demonstrated suggest suggests suggested
report reported observed found findings finding indicate indicates indicated associated related involved required
induced reduced reduces reduce induces increase increases enhanced regulated regulation regulates regulatory binding
bind binds complex structure structures specific specifically normal abnormal chronic acute severe primary secondary
high low early late long short term type types stage stages response cell cells stem tumour therapy surgery hospital
health care medical medicine public national international community social economic income education school
policy policies cost costs quality life system systems method methods approach approaches measure measured
measurement measurements sample samples sequence sequencing genome genomic molecular biological biology chemical
physical mental depression anxiety stress obesity diabetes insulin glucose metabolism metabolic fat weight body mass
index diet dietary exercise smoking alcohol pregnancy pregnant birth infant infants maternal mortality heart cardiac
cardiovascular coronary artery arterial pressure hypertension stroke vascular blood flow oxygen acid acids amino
enzyme enzymes kinase phosphorylation transcription transcriptional translation nuclear membrane mitochondrial
mitochondria oxidative damage repair apoptosis death survival proliferation differentiation migration invasion
metastasis inflammation inflammatory cytokine cytokines antibody antibodies antigen antigens lymphocytes macrophages
neurons neuronal neural cortex cognitive memory learning behavior behaviour sleep pain age aging older elderly
research researcher researchers participant participants regular regularly aged minute minutes walked walking
vaccination vaccinated lower lowers lowered higher raises raised reduction reductions improvement improved improve
trial randomised placebo baseline follow week weeks months daily annual annually previous previously recent recently
current currently overall total median mean average standard deviation error estimate estimated estimates adjusted
difference differences change changes changed effective effectiveness efficacy safety adverse events event benefit
benefits harm harms evidence review systematic meta analysis prospective retrospective observational experimental
laboratory clinic hospitalised admission admissions emergency department primary patients survival survived died
deaths death mortality morbidity morbid symptom symptoms sign signs diagnosis diagnosed diagnostic screening test
tests tested testing positive negative sensitivity specificity accuracy predict predicted prediction predictive
marker markers biomarker biomarkers target targets targeted targeting novel potential potentially important
importance key critical essential major minor large larger largest small smaller smallest significant similar
different distinct various several multiple single both either neither each every whereas while whereby thereby
furthermore moreover additionally finally conclusion conclusions conclude concluded background objective objectives
aim aims purpose design setting methods main measures results limitations interpretation funding
`.split(/\s+/).filter(Boolean);

// biome-ignore format: a word list, wrapped by hand
export const AFFIXES = `
##s ##es ##ed ##ing ##ly ##er ##ers ##est ##ion ##ions ##tion ##tions ##ation ##ations ##ment ##ments ##ness ##ity
##ities ##al ##ally ##ic ##ical ##ive ##ous ##ful ##less ##able ##ible ##ize ##ized ##izes ##ise ##ised ##ism ##ist
##ists ##ia ##ias ##in ##ins ##ine ##ase ##ases ##ide ##ides ##ate ##ates ##ated ##ating ##ant ##ants ##ent ##ents
##ence ##ance ##y ##ies ##ary ##ory ##ery ##ogy ##ology ##ological ##osis ##itis ##emia ##oma ##omas ##cyte ##cytes
##gen ##genic ##genesis ##ome ##omic ##omics ##philic ##phobic ##pathy ##scopy ##tomy ##graphy ##meter ##metry
##'s ##n't un re pre anti non inter intra trans sub super over under out dis mis co bio micro macro multi poly
`.split(/\s+/).filter(Boolean);
