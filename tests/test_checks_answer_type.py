"""An answer must state what a "how many", "how long" or "what date/year/month" question asks for."""

from __future__ import annotations

import pytest

from chat.checks.answer_type import states_what_is_asked


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How many workers were hurt?", "Three workers were hurt [1]."),
        ("How many workers were hurt?", "More than 1,000 construction workers were hurt [2]."),
        ("How many Turkish personnel were killed?", "Eight Turkish military and civil personnel were killed [1]."),
        ("How many soldiers died?", "The toll rose to 33, all of them soldiers [1]."),  # figure before the noun
        ("How many soldiers died?", "Several dozen soldiers died [1]."),
        ("How long did the war last?", "It lasted 45 days [1]."),
        ("How long is the bridge?", "The bridge is 1.2 kilometres long [2]."),
        ("How long did the talks take?", "The talks took years [1]."),
        ("How long has he led the party?", "He has led it since August 2014 [1]."),
        ("How many times did they meet?", "They met twice in 2020 [2]."),
        (
            "How many Turkish soldiers died in Idlib?",
            "More than 59 Turkish soldiers lost their lives [3].",
        ),  # "died" is the verb
        ("How many S-400 batteries did Turkey buy?", "Turkey bought four S-400 batteries [1]."),
        ("How many Cooper Industries Inc shares are offered?", "It offers .3322 shares of Cooper stock [1]."),
        ("How many mln dlrs did the unit earn?", "The unit earned 21 mln dlrs [1]."),
        ("Why did the council approve the bridge?", "It cuts commuting times [3]."),  # other questions: no check
        ("When was the bridge approved?", "The council approved it [1]."),
        ("On what date did the talks take place?", "The talks took place on August 9 [1]."),
        ("On what date did the coup happen?", "It happened on 15/7 [2]."),
        ("In what year were relations raised?", "Relations were raised in 2011 [1]."),
        ("In which year did the dispute start?", "It started in the early 1990s [2]."),
        ("In which month did fighting start?", "Fighting started in late September [2]."),
        ("What day did the talks start?", "The talks started on Monday [1]."),  # a day may be a weekday
        ("How many layers did it evolve into?", "It evolved into a seven-layer protocol [3]."),  # hyphenated
        ("How long did the war last?", "It was a two-year war [1]."),
        ("How many Frenchman won Battle of Carillon?", "3,600 Frenchmen won the Battle of Carillon [2]."),  # -men
        ("How many women were elected?", "Twelve women were elected [1]."),
        ("How much does the bridge cost?", "It costs 40 million euros [1]."),
        ("How old must a person be to apply?", "Members must be over the age of 18 [2]."),
        ("How far is the port from the city?", "The port lies twelve kilometres from the city [1]."),
        ("How much capital did the law require?", "The law required \u00a31 of capital [2]."),
    ],
)
def test_answers_that_state_what_is_asked(question, answer):
    assert states_what_is_asked(question, answer)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How many peacekeepers were deployed?", "The peacekeepers will stay for at least five years [1]."),
        ("How many soldiers died?", "The killing of soldiers could collapse relations [4]."),
        ("How many soldiers died?", "The soldiers died in Idlib [2]."),  # "[2]" is not a figure
        ("How long is the pipeline?", "The pipeline started supplies on 1 January 2020 [2]."),
        ("How long has he led the party?", "He has led it since the congress [1]."),
        ("How many Armenian soldiers were killed?", "More than 59 Turkish soldiers were killed [4]."),  # other soldiers
        ("How many S-400 batteries did Turkey buy?", "Turkey bought four Patriot batteries [1]."),
        ("On what date did the failed takeover happen?", "It happened in the early hours of Monday [4]."),
        ("In what year were relations raised?", "Relations were raised after 20 years of talks [1]."),
        ("In what year did the deal collapse?", "It collapsed after 12345 incidents [1]."),  # not a year
        # "How much/far/old ..." asks for an amount (SQuAD dev split: "How old must a person be to
        # apply to be an MSP?" -> "a number of qualifications apply to being an MSP").
        ("How old must a person be to apply?", "A number of qualifications apply to being an MSP [1]."),
        ("How much does the bridge cost?", "The regional government pays for the bridge [1]."),
        ("In which month did fighting start?", "Fighting started after the ceasefire [2]."),
        ("How many Frenchmen won the battle?", "3,600 Englishmen won the battle [2]."),  # other men
    ],
)
def test_answers_that_do_not(question, answer):
    assert not states_what_is_asked(question, answer)


def test_the_thing_counted_may_stand_beside_the_figure_in_the_supporting_words():
    question = "How many receptors on a helper T cell must be bound to a MHC:antigen complex?"
    answer = "Helper T cells are activated by around 200-300 MHC:antigen molecules [3]."
    quote = "many receptors (around 200-300) on the helper T cell must be bound by an MHC:antigen"
    assert not states_what_is_asked(question, answer)
    assert states_what_is_asked(question, answer, [quote])
    # Only a figure the answer gives: the supporting words counting the thing with another
    # figure do not make the answer's figure a count of it.
    assert not states_what_is_asked(question, "It takes 5 minutes [3].", [quote])
    # ... and the supporting words must name the thing counted, not another.
    assert not states_what_is_asked(
        "How many Armenian soldiers were killed?",
        "59 were killed [4].",
        ["More than 59 Turkish soldiers were killed in the attack."],
    )
